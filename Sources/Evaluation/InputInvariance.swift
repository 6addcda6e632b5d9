import ExplanationCore
import NN
import Torch

/// Input invariance (Kindermans et al. 2019, "The (Un)reliability of Saliency Methods"):
/// a second network that sees x + c but subtracts W·c in its first layer computes exactly
/// the same function; an explanation method should give both the same map. The score is
/// max |e(x) − e′(x + c)| / max |e(x)| per example: 0 is invariant, lower is better.
///
/// Needs a native model whose first layer with weights is `Linear`, or `Conv2d` without
/// padding (zero padding makes the shifted network differ at the border). The bias is
/// changed in place for the shifted run and restored afterwards.
public struct InputInvariance: ExplanationMetric {
    public let name = "input-invariance"
    public let higherIsBetter = false
    public var shift = 1.0

    public init(shift: Double = 1.0) {
        self.shift = shift
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        guard let model = method.model.module else { throw TorchError("input invariance needs a native Glassbox model") }
        let attribution = try explanation(method, inputs, target, attributions)
        let targets = try resolveTargets(target, model: method.model, inputs: inputs).scalars(as: Int64.self).map { Int($0) }
        guard let first = model.namedModules().first(where: { $0.module is Linear || $0.module is Conv2d })?.module else {
            throw TorchError("input invariance needs a first Linear or Conv2d layer")
        }
        let (weight, bias): (Tensor, Tensor?)
        if let linear = first as? Linear {
            (weight, bias) = (linear.weight, linear.bias)
        } else {
            let conv = first as! Conv2d
            guard conv.padding == (0, 0) else {
                throw TorchError("input invariance is exact only when the first convolution has no padding; this model's pads by \(conv.padding.0)")
            }
            (weight, bias) = (conv.weight, conv.bias)
        }
        guard let bias else { throw TorchError("input invariance needs a bias in the first layer to absorb the shift") }
        let saved = try bias.detached().clone()
        defer { try? noGrad { try bias.copyInPlace(from: saved) } }
        // Each output unit's weights summed over its inputs: W·c for a constant shift c.
        let perUnit = try weight.reshaped([weight.shape[0], -1]).sum(dims: [1]) * shift
        try noGrad { try bias.copyInPlace(from: saved - perUnit) }
        let shifted = try method.attribute(inputs + shift, target: .indices(targets)).values
        let scale = try rows(attribution).abs().max(dims: [1]).clamp(min: 1e-12)
        return try ((rows(shifted) - rows(attribution)).abs().max(dims: [1]) / scale).to(.float64)
    }
}
