import NN
import Torch

/// Target outputs for inputs with masked features replaced by the baseline:
/// f(x ⊙ (1 − m) + b ⊙ m) for every example and every mask.
///
/// `masks` is (P, features…) with 1 where the baseline replaces the input. The
/// N·P perturbed inputs are built and evaluated in chunks of about `batchSize`
/// rows, each chunk one broadcast and one forward call. Returns (N, P).
///
/// When every mask covers a small rectangle of an image and the model is native, each image's
/// perturbed copies run as a `LocalChange` instead: each layer recomputes only the outputs the
/// rectangle reaches (`Module.outputs(locally:)`, exact), four times as many copies per call as
/// `batchSize` rows: a local copy's early maps, the largest of a whole forward pass, are a fraction
/// of the whole ones, and each call's fixed costs (the unchanged map's own pass, building the
/// windows' indices) then spread over more copies (ResNet-18 at 224×224 on the session-16 Intel
/// Xeon: 5.8 ms per copy at 32 per call, 4.7 ms at 128; whole maps 6.8–7.2 ms either way).
/// `GLASSBOX_LOCAL_RECOMPUTATION=off` turns local recomputation off, for comparisons.
public func maskedOutputs(_ model: Explainable, inputs: Tensor, baseline: Tensor, masks: Tensor, targets: Tensor,
                   batchSize: Int?) throws -> Tensor {
    let n = inputs.shape[0]
    let p = masks.shape[0]
    let featureShape = Array(inputs.shape.dropFirst())
    let perChunk = max(1, (batchSize ?? 4096) / max(n, 1))
    if LocalRecomputation.isEnabled, let module = model.module, let rectangles = try MaskRectangles(masks, inputs: inputs),
       let outputs = try locallyMaskedOutputs(module, inputs: inputs, baseline: baseline, masks: masks, rectangles: rectangles,
                                              targets: targets, copiesPerCall: 4 * perChunk * n) {
        return outputs
    }
    let x = try inputs.unsqueezed(dim: 1)
    let b = try baseline.unsqueezed(dim: 1)
    var columns: [Tensor] = []
    try noGrad {
        for start in stride(from: 0, to: p, by: perChunk) {
            let end = min(p, start + perChunk)
            let m = try masks.slice(dim: 0, start: start, end: end).unsqueezed(dim: 0).to(inputs.dtype)
            let perturbed = try (x + (b - x) * m).reshaped([n * (end - start)] + featureShape)
            let outputs = try model(perturbed)
            let repeated = try targets.unsqueezed(dim: 1).expanded(to: [n, end - start]).reshaped([-1])
            columns.append(try selectTargets(outputs, repeated).reshaped([n, end - start]))
            ProgressObserver.report("perturbations", done: n * end, of: n * p, unit: "rows")
        }
    }
    return try Tensor.cat(columns, dim: 1)
}

/// Feature groups: an integer mask with the input's shape (without the batch
/// dimension, or with a batch of 1), each value naming one group.
public struct FeatureGroups {
    /// (G, features…) float masks, 1 inside the group.
    public let masks: Tensor
    public let count: Int

    /// Groups from `mask`, or one group per feature when nil.
    public init(_ mask: Tensor?, featureShape: [Int], dtype: DType) throws {
        let size = featureShape.reduce(1, *)
        guard let mask else {
            try Limits.checkMasks(size, features: size, method: "a perturbation method with one group per feature",
                                  advice: "group the features (a feature mask, or patches of an image)")
            masks = try Tensor.eye(size, dtype: dtype).reshaped([size] + featureShape)
            count = size
            return
        }
        var m = mask
        if m.rank == featureShape.count + 1, m.shape[0] == 1 { m = try m.squeezed(dim: 0) }
        guard m.shape == featureShape else {
            throw TorchError("feature mask has shape \(mask.shape); it must match one input, \(featureShape)")
        }
        m = try m.to(.int64)
        let ids = try m.reshaped([-1]).scalars(as: Int64.self)
        let distinct = Set(ids)
        guard let maximum = distinct.max(), distinct.min() == 0, distinct.count == Int(maximum) + 1 else {
            throw TorchError("feature mask values must be the group numbers 0…G−1 with none missing")
        }
        count = distinct.count
        try Limits.checkMasks(count, features: size, method: "a perturbation method with \(count) feature groups", advice: "use fewer, larger groups")
        let groupIDs = try Tensor.arange(0, Double(count)).reshaped([count] + Array(repeating: 1, count: featureShape.count))
        masks = try m.unsqueezed(dim: 0).eq(groupIDs).to(dtype)
    }

    /// Spreads per-group values (N, G) onto the features: (N, features…).
    package func spread(_ values: Tensor, featureShape: [Int]) throws -> Tensor {
        try values.matmul(masks.reshaped([count, -1]).to(values.dtype)).reshaped([values.shape[0]] + featureShape)
    }
}

/// The dtype attributions of `inputs` take: theirs, or float32 for token ids (which perturbation
/// methods replace by baseline ids, exactly, through 0/1 masks).
package func valueType(of inputs: Tensor) -> DType { inputs.dtype.isFloatingPoint ? inputs.dtype : .float32 }

/// Feature ablation's effects: f(x) − f(x with a group replaced by the baseline), each group's
/// drop spread onto its features, (N, features…); every feature is its own group without a mask.
package func ablationEffects(_ model: Explainable, inputs: Tensor, baseline: Baseline, featureMask: Tensor?, targets: Tensor,
                             batchSize: Int?) throws -> Tensor {
    let featureShape = Array(inputs.shape.dropFirst())
    let groups = try FeatureGroups(featureMask, featureShape: featureShape, dtype: valueType(of: inputs))
    let reference = try baseline.resolve(for: inputs)
    let original = try targetOutputs(model, inputs, targets: targets)
    let ablated = try maskedOutputs(model, inputs: inputs, baseline: reference, masks: groups.masks, targets: targets, batchSize: batchSize)
    return try groups.spread(original.unsqueezed(dim: 1) - ablated, featureShape: featureShape)
}
