import Torch

/// Features (N, F) as float32 and labels (N) as int64 in 0..<classes: what every transparent model fits.
public struct LabelledFeatures {
    public let features: Tensor
    public let labels: Tensor
    public let classes: Int

    public var count: Int { labels.count }
    public var featureCount: Int { features.shape[1] }

    /// Checks shapes, finiteness and the label range once, so the models need not.
    public init(features: Tensor, labels: Tensor, classes: Int? = nil) throws {
        guard features.rank == 2 else { throw TorchError("features must be a (samples, features) table, got shape \(features.shape)") }
        guard labels.rank == 1, labels.count == features.shape[0] else {
            throw TorchError("\(features.shape[0]) feature rows but labels of shape \(labels.shape)")
        }
        guard features.shape[0] > 0, features.shape[1] > 0 else { throw TorchError("the table is empty (shape \(features.shape))") }
        guard try features.allFinite() else { throw TorchError("the features contain NaN or infinite values") }
        let labels64 = try labels.to(.int64)
        let low = try labels64.min().itemInt(), high = try labels64.max().itemInt()
        let classCount = classes ?? high + 1
        guard low >= 0, high < classCount else {
            throw TorchError("labels run from \(low) to \(high); expected 0..<\(classCount)")
        }
        self.features = try features.to(.float32).contiguous()
        self.labels = labels64
        self.classes = classCount
    }

    /// The rows at `indices` (an int64 tensor).
    public func rows(_ indices: Tensor) throws -> LabelledFeatures {
        try LabelledFeatures(features: features.indexSelect(dim: 0, index: indices), labels: labels.indexSelect(dim: 0, index: indices),
                             classes: classes)
    }

    /// Samples per class.
    public func classCounts() throws -> [Int] {
        try labels.oneHot(classes: classes).sum(dims: [0]).scalars(as: Int64.self).map(Int.init)
    }
}

/// Checks a feature table handed to a fitted model.
func checkedFeatures(_ x: Tensor, count: Int, dtype: DType = .float32) throws -> Tensor {
    guard x.rank == 2, x.shape[1] == count else {
        throw TorchError("this model takes (samples, \(count)) features, got shape \(x.shape)")
    }
    guard try x.allFinite() else { throw TorchError("the features contain NaN or infinite values") }
    return try x.to(dtype)
}

/// Fraction of `predictions` equal to `labels`.
public func accuracy(of predictions: Tensor, against labels: Tensor) throws -> Double {
    try predictions.eq(labels).to(.float64).mean().item()
}
