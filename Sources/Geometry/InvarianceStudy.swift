import Foundation
import NN
import Torch

/// Seed 003's argument checked on a trained network: a change of basis h′ = A·h at a hidden layer,
/// undone by the linear layer that reads it (W′ = W·A⁻¹), leaves the network's function unchanged.
/// Jacobian spectra through the reparametrised network stay (all of them for an orthogonal A; the
/// rank, and every Jacobian that crosses the layer, for any invertible A), while measures that
/// read the layer one neuron at a time — inactive share, kurtosis, a neuron's top inputs — change.
public struct InvarianceStudy {
    /// The hook point whose basis changes; its output must feed only the `Linear` at `next`.
    public var hidden: String
    public var next: String
    /// The Jacobians' input side and the output hook point of the crossing Jacobian.
    public var from = LayerJacobian.modelInput
    public var output: String
    public var conditionNumber = 10.0
    public var relativeThreshold = 1e-3

    public init(hidden: String, next: String, output: String) {
        (self.hidden, self.next, self.output) = (hidden, next, output)
    }

    /// Spectrum summaries of one Jacobian before and after the change of basis.
    public struct SpectrumChange: Codable, Sendable {
        public var entropyRank: [Double]          // [before, after], means over inputs
        public var participationRatio: [Double]
        public var thresholdRank: [Double]
        /// max over inputs and i of |σᵢ′ − σᵢ| / σ₁.
        public var largestSingularValueChange: Double
    }

    public struct Outcome: Codable, Sendable {
        public var kind: ChangeOfBasis.Kind
        /// max |f′(x) − f(x)| / max |f(x)| over the inputs.
        public var outputChange: Double
        /// The Jacobian into the reparametrised layer (from → hidden).
        public var intoLayer: SpectrumChange
        /// The Jacobian across it (from → output).
        public var acrossLayer: SpectrumChange
        public var before: NeuronStatistics
        public var after: NeuronStatistics
        /// Mean share of a neuron's top inputs that stay its top inputs.
        public var topInputOverlap: Double
    }

    /// `jacobianInputs` for the spectra, `activationInputs` (more of them) for the neuron statistics.
    public func run(_ model: Module, jacobianInputs: Tensor, activationInputs: Tensor, seed: UInt64) throws -> [Outcome] {
        guard let reader = model.namedModules().first(where: { $0.path == next })?.module as? Linear else {
            throw TorchError("'\(next)' is not a linear layer: the change of basis at '\(hidden)' is undone by the linear layer that reads it")
        }
        let original = try noGrad { try activations(model, activationInputs, patches: []) }
        guard original.activations.rank == 2, original.activations.shape[1] == reader.weight.shape[1] else {
            throw TorchError("'\(hidden)' gives activations of shape \(original.activations.shape), but '\(next)' reads \(reader.weight.shape[1]) values per input")
        }
        let into = try LayerJacobian(from: from, to: hidden)(model, inputs: jacobianInputs)
        let across = try LayerJacobian(from: from, to: output)(model, inputs: jacobianInputs)
        let before = try NeuronStatistics(activations: original.activations)
        return try ChangeOfBasis.Kind.allCases.enumerated().map { offset, kind in
            let basis = try ChangeOfBasis(kind, dimension: original.activations.shape[1], conditionNumber: conditionNumber, seed: seed &+ UInt64(offset))
            let patches = try self.patches(basis, reader: reader)
            let changed = try noGrad { try activations(model, activationInputs, patches: patches) }
            let scale = try original.output.abs().max().item()
            let outputChange = try (changed.output - original.output).abs().max().item() / max(scale, 1e-300)
            var newInto = LayerJacobian(from: from, to: hidden), newAcross = LayerJacobian(from: from, to: output)
            (newInto.patches, newAcross.patches) = (patches, patches)
            let after = try NeuronStatistics(activations: changed.activations)
            return Outcome(kind: kind, outputChange: outputChange,
                           intoLayer: try compare(into, try newInto(model, inputs: jacobianInputs)),
                           acrossLayer: try compare(across, try newAcross(model, inputs: jacobianInputs)),
                           before: before, after: after, topInputOverlap: before.topInputOverlap(with: after))
        }
    }

    /// The reparametrised network: `hidden` gives h·Aᵀ, and `next` reads it with W·A⁻¹.
    func patches(_ basis: ChangeOfBasis, reader: Linear) throws -> [(hookPoint: String, hook: ActivationHook)] {
        let dtype = reader.weight.dtype
        let a = try basis.matrix.to(dtype), weight = try reader.weight.to(.float64).matmul(basis.inverse).to(dtype)
        let bias = reader.bias
        // h′ passes from one hook to the other within a forward pass; LayerJacobian runs forward
        // passes on several threads at once, so each thread keeps its own.
        let changed = PerThread()
        return [
            (hidden, { h, _ in
                let h2 = try h.flattened(from: 1).matmul(a.transposed(0, 1))
                changed.value = h2
                return try h2.reshaped(h.shape)
            }),
            (next, { _, _ in
                guard let h2 = changed.value else { throw TorchError("'\(hidden)' was not reached before '\(next)'") }
                return try Functional.linear(h2, weight: weight, bias: bias)
            }),
        ]
    }

    /// A tensor per calling thread.
    final class PerThread: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [UInt: Tensor] = [:]

        var value: Tensor? {
            get { lock.withLock { values[UInt(bitPattern: Int(bitPattern: pthread_self()))] } }
            set { lock.withLock { values[UInt(bitPattern: Int(bitPattern: pthread_self()))] = newValue } }
        }
    }

    func activations(_ model: Module, _ inputs: Tensor, patches: [(hookPoint: String, hook: ActivationHook)]) throws -> (activations: Tensor, output: Tensor) {
        var captured: Tensor?, outputValue: Tensor?
        let observers: [(hookPoint: String, hook: ActivationHook)] = [
            (hidden, { activation, _ in captured = activation; return nil }),
            (output, { activation, _ in outputValue = activation; return nil }),
        ]
        _ = try model.withHooks(patches + observers) { try model(inputs) }
        guard let captured, let outputValue else { throw TorchError("hook points '\(hidden)' and '\(output)' must both be reached in the forward pass") }
        return (try captured.flattened(from: 1), outputValue)
    }

    func compare(_ original: Tensor, _ changed: Tensor) throws -> SpectrumChange {
        let a = try JacobianSpectrum(jacobians: original), b = try JacobianSpectrum(jacobians: changed)
        func means(_ f: (JacobianSpectrum) throws -> [Double]) throws -> [Double] { try [a, b].map { average(try f($0)) } }
        let difference = try ((b.singularValues - a.singularValues).abs() / a.singularValues.max(dims: [1], keepDims: true).clamp(min: 1e-300)).max().item()
        return SpectrumChange(entropyRank: try means { try $0.entropyRank() }, participationRatio: try means { try $0.participationRatio() },
                              thresholdRank: try means { try $0.thresholdRank(relativeThreshold: relativeThreshold) },
                              largestSingularValueChange: difference)
    }
}
