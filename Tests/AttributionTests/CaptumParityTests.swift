import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import Torch

/// Every method Captum also has, on the demo CNN twin (three real digits) and a small MLP,
/// against Captum 0.7.0 (tools/make_attribution_fixtures.py).
///
/// Tolerance: 1e-4 relative to the largest reference value. Both sides run libtorch
/// 1.13 in float32; the remaining differences come from summation order (batched
/// versus per-step evaluation, thread counts) and are around 1e-6. Integrated Gradients
/// is judged against float64 instead (see `judgedAgainstFloat64`). Random draws
/// (noise, permutations, coalitions) are Captum's own, replayed.
@Suite("Captum parity")
struct CaptumParityTests {
    static let tolerance = 1e-4

    @Test("Saliency, signed gradient and Gradient × Input", arguments: ReferenceModel.all)
    func gradients(reference: ReferenceModel) throws {
        let model = try reference.model()
        let x = reference.input
        #expect(try relativeDifference(Saliency(model).attribute(x, target: reference.target).values, reference.tensor("saliency")) < Self.tolerance)
        #expect(try relativeDifference(Saliency(model, absoluteValue: false).attribute(x, target: reference.target).values,
                                       reference.tensor("saliency_signed")) < Self.tolerance)
        #expect(try relativeDifference(InputXGradient(model).attribute(x, target: reference.target).values,
                                       reference.tensor("input_x_gradient")) < Self.tolerance)
    }

    /// Float32 Integrated Gradients legitimately differ where a ReLU's input sits within rounding of
    /// zero at some path point: either side of that zero is a correct float32 answer, and which one a
    /// computation lands on depends on the CPU's vector instructions and the order of summation.
    /// Captum's own float32 result for the CNN with a baseline is 2.3e-4 from the float64 answer;
    /// Glassbox's is 2.3e-4 on an AVX-512 CPU and 2.5e-7 with oneDNN limited to AVX2 (and on a real
    /// AVX2 CPU it failed a direct comparison with Captum). So IG is judged against float64
    /// (tools/make_float64_references.py): Glassbox's error may exceed Captum's float32 error by at
    /// most the tolerance, on any CPU.
    func judgedAgainstFloat64(_ ours: Tensor, _ key: String, _ reference: ReferenceModel) throws -> (ours: Double, allowed: Double) {
        let truth = Fixture.float64[reference.prefix + key]!
        return (try relativeDifference(ours, truth), try relativeDifference(reference.tensor(key), truth) + Self.tolerance)
    }

    @Test("Integrated Gradients with every quadrature rule, and its convergence delta", arguments: ReferenceModel.all)
    func integratedGradients(reference: ReferenceModel) throws {
        let model = try reference.model()
        for rule in IntegrationRule.allCases {
            let result = try IntegratedGradients(model).attribute(reference.input, target: reference.target, baseline: .zeros,
                                                                  steps: 20, rule: rule, internalBatchSize: 16)
            // Captum's trapezoid weights sum to (n − 1)/n; ours sum to 1 (see IntegrationRule).
            let scale = rule == .riemannTrapezoid ? 19.0 / 20.0 : 1.0
            let error = try judgedAgainstFloat64(result.values * scale, "ig." + rule.rawValue, reference)
            #expect(error.ours <= error.allowed, "\(rule): \(error.ours) from float64, allowed \(error.allowed)")
            if rule != .riemannTrapezoid {
                #expect(try (result.convergenceDelta! - reference.tensor("ig_delta." + rule.rawValue)).abs().max().item() < 1e-4, "\(rule) delta")
            }
        }
        var ig = IntegratedGradients(model)
        ig.baseline = .tensor(reference.tensor("ig_baseline"))
        ig.steps = 20
        let error = try judgedAgainstFloat64(ig.attribute(reference.input, target: reference.target).values, "ig_with_baseline", reference)
        #expect(error.ours <= error.allowed, "with a baseline: \(error.ours) from float64, allowed \(error.allowed)")
    }

    @Test("NoiseTunnel: SmoothGrad, SmoothGrad² and VarGrad with Captum's noise", arguments: ReferenceModel.all)
    func noiseTunnel(reference: ReferenceModel) throws {
        let model = try reference.model()
        for kind in NoiseTunnel.Kind.allCases {
            var tunnel = NoiseTunnel(Saliency(model, absoluteValue: false), kind: kind, samples: 4, standardDeviation: 0.2)
            tunnel.noise = reference.tensor("nt_noise." + kind.rawValue)
            #expect(try relativeDifference(tunnel.attribute(reference.input, target: reference.target).values,
                                           reference.tensor("nt." + kind.rawValue)) < Self.tolerance, "\(kind)")
        }
    }

    @Test("Guided Backprop and DeconvNet", arguments: ReferenceModel.all)
    func modifiedBackward(reference: ReferenceModel) throws {
        let model = try reference.model()
        #expect(try relativeDifference(GuidedBackprop(model).attribute(reference.input, target: reference.target).values,
                                       reference.tensor("guided_backprop")) < Self.tolerance)
        #expect(try relativeDifference(Deconvolution(model).attribute(reference.input, target: reference.target).values,
                                       reference.tensor("deconvolution")) < Self.tolerance)
        // The ReLUs are back to normal afterwards.
        #expect(model.namedModules().compactMap { $0.module as? ReLU }.allSatisfy { $0.backwardRule == .standard })
    }

    @Test("Grad-CAM with and without ReLU, and Guided Grad-CAM")
    func gradCAM() throws {
        let reference = ReferenceModel.cnn
        let model = try reference.model()
        let cam = LayerGradCAM(model, hookPoint: "3", reluAttributions: true, upsampling: .none)
        #expect(try relativeDifference(cam.attribute(reference.input, target: reference.target).values, reference.tensor("grad_cam")) < Self.tolerance)
        let signed = LayerGradCAM(model, hookPoint: "3", reluAttributions: false, upsampling: .none)
        #expect(try relativeDifference(signed.attribute(reference.input, target: reference.target).values,
                                       reference.tensor("grad_cam_no_relu")) < Self.tolerance)
        #expect(try relativeDifference(GuidedGradCAM(model, hookPoint: "3").attribute(reference.input, target: reference.target).values,
                                       reference.tensor("guided_grad_cam")) < Self.tolerance)
    }

    @Test("Occlusion", arguments: ReferenceModel.all)
    func occlusion(reference: ReferenceModel) throws {
        let model = try reference.model()
        let method = reference.prefix == "cnn." ? Occlusion(model, window: [1, 4, 4], strides: [1, 2, 2]) : Occlusion(model, window: [2], strides: [1])
        #expect(try relativeDifference(method.attribute(reference.input, target: reference.target).values, reference.tensor("occlusion")) < Self.tolerance)
    }

    @Test("Feature ablation per feature and with a feature mask", arguments: ReferenceModel.all)
    func featureAblation(reference: ReferenceModel) throws {
        let model = try reference.model()
        var method = FeatureAblation(model)
        method.perturbationsPerEvaluation = 512
        #expect(try relativeDifference(method.attribute(reference.input, target: reference.target).values,
                                       reference.tensor("feature_ablation")) < Self.tolerance)
        method.featureMask = reference.mask
        #expect(try relativeDifference(method.attribute(reference.input, target: reference.target).values,
                                       reference.tensor("feature_ablation_mask")) < Self.tolerance)
    }

    @Test("Shapley value sampling with Captum's permutations", arguments: ReferenceModel.all)
    func shapley(reference: ReferenceModel) throws {
        let model = try reference.model()
        var method = ShapleyValueSampling(model, featureMask: reference.mask)
        let permutations = reference.tensor("shapley_permutations")
        method.permutations = try (0..<permutations.shape[0]).map { try permutations[$0].scalars(as: Int64.self).map(Int.init) }
        #expect(try relativeDifference(method.attribute(reference.input, target: reference.target).values,
                                       reference.tensor("shapley")) < Self.tolerance)
    }

    /// Captum fits the surrogate with scikit-learn in float32; KernelSHAP's 10⁶ weights on the
    /// empty and full coalitions make that fit lose about three digits (measured 6e-4), so
    /// Captum's numbers are checked at 2e-3 and the exact float64 scikit-learn fit of the
    /// same samples, which Glassbox computes, at 1e-5 (the model outputs are float32).
    @Test("LIME and KernelSHAP with fixed coalitions and a linear surrogate", arguments: ReferenceModel.all)
    func surrogates(reference: ReferenceModel) throws {
        let model = try reference.model()
        var lime = LIME(model, featureMask: reference.mask)
        lime.coalitions = reference.tensor("coalitions")
        let limeValues = try lime.attribute(reference.input, target: reference.target).values
        #expect(try relativeDifference(limeValues, reference.tensor("lime")) < Self.tolerance)
        #expect(try relativeDifference(limeValues, reference.tensor("lime_float64")) < 1e-5)
        var shap = KernelSHAP(model, featureMask: reference.mask)
        shap.coalitions = reference.tensor("shap_coalitions")
        let shapValues = try shap.attribute(reference.input, target: reference.target).values
        #expect(try relativeDifference(shapValues, reference.tensor("kernel_shap")) < 2e-3)
        #expect(try relativeDifference(shapValues, reference.tensor("kernel_shap_float64")) < 1e-5)
    }

    @Test("Layer activation, layer Integrated Gradients and layer conductance", arguments: ReferenceModel.all)
    func layerMethods(reference: ReferenceModel) throws {
        let model = try reference.model()
        let x = reference.input
        #expect(try relativeDifference(LayerActivation(model, hookPoint: reference.layer).attribute(x, target: reference.target).values,
                                       reference.tensor("layer_activation")) < Self.tolerance)
        var layerIG = LayerIntegratedGradients(model, hookPoint: reference.layer)
        layerIG.steps = 20
        #expect(try relativeDifference(layerIG.attribute(x, target: reference.target).values, reference.tensor("layer_ig")) < Self.tolerance)
        var conductance = LayerConductance(model, hookPoint: reference.layer)
        conductance.steps = 20
        #expect(try relativeDifference(conductance.attribute(x, target: reference.target).values,
                                       reference.tensor("layer_conductance")) < Self.tolerance)
    }

    @Test("Neuron gradient and neuron Integrated Gradients", arguments: ReferenceModel.all)
    func neuronMethods(reference: ReferenceModel) throws {
        let model = try reference.model()
        #expect(try relativeDifference(NeuronGradient(model, neuron: reference.neuron).attribute(reference.input, target: reference.target).values,
                                       reference.tensor("neuron_gradient")) < Self.tolerance)
        var neuronIG = NeuronIntegratedGradients(model, neuron: reference.neuron)
        neuronIG.steps = 20
        #expect(try relativeDifference(neuronIG.attribute(reference.input, target: reference.target).values,
                                       reference.tensor("neuron_ig")) < Self.tolerance)
    }
}
