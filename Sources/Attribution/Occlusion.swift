import ExplanationCore
import Torch

/// Occlusion (Zeiler & Fergus 2014): slide a window over the input, replace it with
/// the baseline, and credit each feature with the average drop in the target output
/// over the windows that cover it.
///
/// `window` and `strides` span every dimension but the batch, e.g. (1, 3, 3) for
/// one-channel images. Features no window covers get 0 (Captum gives NaN there).
public struct Occlusion: AttributionMethod {
    public let model: Explainable
    public var window: [Int]
    public var strides: [Int]
    public var baseline: Baseline = .zeros
    /// Perturbed inputs per forward call.
    public var perturbationsPerEvaluation: Int?
    public var name: String { "occlusion" }

    public init(_ model: Explainable, window: [Int], strides: [Int]? = nil, baseline: Baseline = .zeros) {
        self.model = model
        self.window = window
        self.strides = strides ?? window.map { _ in 1 }
        self.baseline = baseline
    }

    /// The (P, features…) window masks, built by broadcasting one indicator per dimension.
    func masks(featureShape: [Int], dtype: DType) throws -> Tensor {
        guard window.count == featureShape.count, strides.count == featureShape.count else {
            throw TorchError("occlusion window \(window) and strides \(strides) need one entry per input dimension \(featureShape)")
        }
        guard zip(window, featureShape).allSatisfy({ 1 <= $0 && $0 <= $1 }), strides.allSatisfy({ $0 >= 1 }) else {
            throw TorchError("occlusion window \(window) must fit inside \(featureShape) and strides \(strides) be positive")
        }
        let d = featureShape.count
        let positionCounts = (0..<d).map { (featureShape[$0] - window[$0]) / strides[$0] + 1 }
        try Limits.checkMasks(positionCounts.reduce(1, *), features: featureShape.reduce(1, *),
                              method: "occlusion with window \(window) and strides \(strides)", advice: "use a larger window or larger strides")
        var combined: Tensor?
        for axis in 0..<d {
            let positions = positionCounts[axis]
            let starts = try Tensor.arange(0, Double(positions)).unsqueezed(dim: 1) * Double(strides[axis])
            let coordinates = try Tensor.arange(0, Double(featureShape[axis])).unsqueezed(dim: 0)
            let inside = try coordinates.ge(starts).logicalAnd(coordinates.lt(starts + Double(window[axis]))).to(dtype)
            // Shape: positions on axis `axis` of the first d dims, coordinates on axis d + axis.
            var shape = Array(repeating: 1, count: 2 * d)
            shape[axis] = positions
            shape[d + axis] = featureShape[axis]
            let indicator = try inside.reshaped(shape)
            combined = try combined.map { try $0 * indicator } ?? indicator
        }
        return try combined!.reshaped([positionCounts.reduce(1, *)] + featureShape)
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let featureShape = Array(inputs.shape.dropFirst())
        let windows = try masks(featureShape: featureShape, dtype: valueType(of: inputs))
        let reference = try baseline.resolve(for: inputs)
        let original = try targetOutputs(model, inputs, targets: targets)
        let occluded = try maskedOutputs(model, inputs: inputs, baseline: reference, masks: windows, targets: targets,
                                         batchSize: perturbationsPerEvaluation)
        let drops = try original.unsqueezed(dim: 1) - occluded
        let flatMasks = try windows.reshaped([windows.shape[0], -1])
        let totals = try drops.matmul(flatMasks)
        let coverage = try flatMasks.sum(dims: [0])
        let values = try totals / coverage.clamp(min: 1)
        return AttributionResult(values: try values.reshaped(inputs.shape))
    }
}
