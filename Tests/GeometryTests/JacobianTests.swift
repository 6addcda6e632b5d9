import Foundation
import Testing
import TestSupport
@testable import Geometry
import NN
import Torch

/// The float64 references of tools/make_geometry_fixtures.py: the demo CNN with random weights.
struct CNNFixture {
    let model: Sequential
    let tensors: [String: Tensor]

    init() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("cnn_jacobians.safetensors")
        tensors = try Safetensors.read(url.path).tensors
        model = try Architectures.mnistCNN()
        var weights: [String: Tensor] = [:]
        for (name, tensor) in tensors where name.hasPrefix("weight.") { weights[String(name.dropFirst("weight.".count))] = tensor }
        try model.loadStateDict(weights)
        model.eval()
    }

    subscript(name: String) -> Tensor { tensors[name]! }
}

@Suite("Jacobians between hook points")
struct JacobianTests {
    // Float32 forward and backward through 3×3 convolutions, pooling and a 3136-wide linear layer:
    // rounding is about 1e-6 of the largest entry; 1e-4 leaves room for other CPUs' summation orders.
    @Test("input to a hidden layer: PyTorch's float64 jacobian, entry by entry")
    func inputToHidden() throws { try withExclusiveBLASSetting {
        let fixture = try CNNFixture()
        let jacobians = try LayerJacobian(from: LayerJacobian.modelInput, to: "9")(fixture.model, inputs: fixture["inputs"])
        #expect(jacobians.shape == [4, 128, 784])
        #expect(try relativeDifference(jacobians, fixture["jacobian_input_9"]) < 1e-4)
    } }

    @Test("hook point to hook point, in chunks of inputs: the same as one pass and as PyTorch's")
    func hookToHook() throws { try withExclusiveBLASSetting {
        let fixture = try CNNFixture()
        var jacobian = LayerJacobian(from: "5", to: "10")
        let whole = try jacobian(fixture.model, inputs: fixture["inputs"])
        jacobian.batchSize = 3
        let chunked = try jacobian(fixture.model, inputs: fixture["inputs"])
        #expect(whole.shape == [4, 10, 3136])
        #expect(try relativeDifference(whole, fixture["jacobian_5_10"]) < 1e-4)
        #expect(try maxDifference(whole, chunked) < 1e-6)
    } }

    // The shortcuts from the input (the first convolution's transpose, ReLUs moved past max pools,
    // backward passes from a last linear layer's input) change only float32 summation order.
    @Test("from the input, every end layer gives the same Jacobians with and without the Sequential shortcuts")
    func shortcutsMatchHooks() throws { try withExclusiveBLASSetting {
        let fixture = try CNNFixture()
        for end in ["1", "2", "5", "8", "9", "output"] {
            let fast = try LayerJacobian(from: LayerJacobian.modelInput, to: end)(fixture.model, inputs: fixture["inputs"])
            // A patch that changes nothing turns every shortcut off.
            var plain = LayerJacobian(from: LayerJacobian.modelInput, to: end)
            plain.patches = [("0", { _, _ in nil })]
            let reference = try plain(fixture.model, inputs: fixture["inputs"])
            #expect(fast.shape == reference.shape, "to \(end)")
            #expect(try relativeDifference(fast, reference) < 1e-5, "to \(end)")
        }
    } }

    @Test("the model is left as it was: no hooks, same outputs")
    func modelUnchanged() throws { try withExclusiveBLASSetting {
        let fixture = try CNNFixture()
        let before = try noGrad { try fixture.model(fixture["inputs"]) }
        _ = try LayerJacobian(from: "2", to: "9")(fixture.model, inputs: fixture["inputs"])
        #expect(fixture.model.attachedHookCount == 0)
        // Bitwise equal unless OpenBLAS changed its thread count in between; a changed weight would move it far more.
        #expect(try relativeDifference(noGrad { try fixture.model(fixture["inputs"]) }, before) < 1e-6)
    } }

    @Test("unknown hook points, reversed order and the input as output are refused with what to do")
    func badHookPoints() throws { try withExclusiveBLASSetting {
        let fixture = try CNNFixture()
        let x = fixture["inputs"]
        #expect(errorMessage { _ = try LayerJacobian(from: "input", to: "fc9")(fixture.model, inputs: x) }?.contains("no hook point 'fc9'; this model has: input, 0, 1") == true)
        #expect(errorMessage { _ = try LayerJacobian(from: "9", to: "5")(fixture.model, inputs: x) }?.contains("does not depend on '9'") == true)
        #expect(errorMessage { _ = try LayerJacobian(from: "9", to: "input")(fixture.model, inputs: x) }?.contains("must be a hook point") == true)
    } }
}

@Suite("Spectra, effective ranks and principal angles")
struct SpectrumTests {
    // The fixture's Jacobians are float64 results stored in float32 (relative rounding 6e-8), so the
    // spectra agree with numpy's float64 ones to about 1e-7 of the largest singular value.
    @Test("singular values and the three effective ranks: numpy's, in float64")
    func effectiveRanks() throws {
        let fixture = try CNNFixture()
        let spectrum = try JacobianSpectrum(jacobians: fixture["jacobian_input_9"])
        #expect(try relativeDifference(spectrum.singularValues, fixture["singular_values_input_9"]) < 1e-5)
        let expected = try fixture["effective_ranks_input_9"].scalars(as: Double.self)
        let (entropy, participation, threshold) = (try spectrum.entropyRank(), try spectrum.participationRatio(), try spectrum.thresholdRank(relativeThreshold: 1e-3))
        for i in 0..<4 {
            #expect(abs(entropy[i] - expected[3 * i]) < 1e-4 * expected[3 * i])
            #expect(abs(participation[i] - expected[3 * i + 1]) < 1e-4 * expected[3 * i + 1])
            #expect(threshold[i] == expected[3 * i + 2])
        }
    }

    @Test("effective ranks of known spectra: equal values give their count, a zero Jacobian gives 0")
    func knownSpectra() throws {
        let spectrum = JacobianSpectrum(singularValues: try Tensor([2, 2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0] as [Double], shape: [3, 4]))
        #expect(try spectrum.entropyRank().map { ($0 * 1e9).rounded() / 1e9 } == [3, 1, 0])
        #expect(try spectrum.participationRatio().map { ($0 * 1e9).rounded() / 1e9 } == [3, 1, 0])
        #expect(try spectrum.thresholdRank(relativeThreshold: 0.5) == [3, 1, 0])
    }

    @Test("principal angles between two inputs' top-5 input directions: scipy's subspace_angles")
    func principalAngles() throws {
        let fixture = try CNNFixture()
        let agreement = try SubspaceAgreement(jacobians: fixture["jacobian_input_9"], k: 5)
        #expect(agreement.pairs == 6)
        let expected = try fixture["cosines_0_1_top5"].scalars(as: Double.self)
        #expect(zip(agreement.inputSideCosines[0], expected).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(agreement.inputSideChance == 5.0 / 784)
    }

    @Test("copies of one Jacobian agree completely, and its own top-k directions capture all of a rank-k Jacobian")
    func identicalJacobians() throws {
        let factor = try Tensor.randn([6, 2], dtype: .float64, generator: Generator(seed: 1)).matmul(Tensor.randn([2, 9], dtype: .float64, generator: Generator(seed: 2)))
        let jacobians = try factor.unsqueezed(dim: 0).expanded(to: [5, 6, 9]).contiguous()
        let agreement = try SubspaceAgreement(jacobians: jacobians, k: 2)
        #expect(abs(agreement.inputSideOverlap - 1) < 1e-9 && abs(agreement.outputSideOverlap - 1) < 1e-9)
        #expect(agreement.sharedInputCapture.allSatisfy { abs($0 - 1) < 1e-9 } && agreement.sharedOutputCapture.allSatisfy { abs($0 - 1) < 1e-9 })
    }
}
