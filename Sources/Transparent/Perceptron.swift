import Torch

/// Rosenblatt's perceptron (1958), the model whose training carries a guarantee: on linearly
/// separable data it reaches zero training error after finitely many updates (Novikoff 1962).
///
/// Classic form, as scikit-learn's `Perceptron(shuffle=False, eta0=1)`: samples in order, and a
/// sample with y·(w·x + b) ≤ 0 adds y·x to w and y to b. Several classes are one-vs-rest.
/// The sequential rule is kept exactly, but each step is batched: one matrix–vector product
/// finds the next sample the current weights misclassify, so the cost is per update, not per sample.
public struct Perceptron {
    /// (classes, features) float64; one row for two classes (the positive class is 1).
    public let weights: Tensor
    public let bias: Tensor
    /// Full passes over the data until an error-free pass, per binary problem.
    public let epochs: [Int]
    public let updates: [Int]
    /// Whether every binary problem ended with an error-free pass.
    public let converged: Bool

    public var parameterCount: Int { weights.count + bias.count }

    public static func fit(_ data: LabelledFeatures, maxEpochs: Int = 1000) throws -> Perceptron {
        guard maxEpochs > 0 else { throw TorchError("the perceptron needs at least one epoch") }
        guard data.classes >= 2 else { throw TorchError("the perceptron needs at least two classes") }
        let x = try data.features.to(.float64)
        let positives = data.classes == 2 ? [1] : Array(0..<data.classes)
        var rows: [Tensor] = [], biases: [Double] = [], epochs: [Int] = [], updates: [Int] = []
        var converged = true
        for positive in positives {
            let signs = try data.labels.eq(Double(positive)).to(.float64) * 2 - 1
            let fit = try binary(x: x, signs: signs, maxEpochs: maxEpochs)
            rows.append(fit.weights); biases.append(fit.bias); epochs.append(fit.epochs); updates.append(fit.updates)
            converged = converged && fit.converged
        }
        return Perceptron(weights: try Tensor.stack(rows), bias: try Tensor(biases), epochs: epochs, updates: updates, converged: converged)
    }

    private static func binary(x: Tensor, signs: Tensor, maxEpochs: Int) throws -> (weights: Tensor, bias: Double, epochs: Int, updates: Int, converged: Bool) {
        let n = x.shape[0]
        var w = try Tensor.zeros([x.shape[1]], dtype: .float64), b = 0.0
        var updates = 0
        for epoch in 1...maxEpochs {
            var position = 0, updatedThisEpoch = false
            while position < n {
                let rest = try x.slice(dim: 0, start: position, end: n)
                let margins = try (rest.matmul(w) + b) * signs.slice(dim: 0, start: position, end: n)
                let wrong = try margins.le(0)
                guard try wrong.to(.int64).max().itemInt() == 1 else { break }
                let index = position + (try wrong.to(.int64).argmax().itemInt())
                let sign = try signs[index].item()
                w = try w + x[index] * sign
                b += sign
                updates += 1
                updatedThisEpoch = true
                position = index + 1
            }
            if !updatedThisEpoch { return (w, b, epoch, updates, true) }
        }
        return (w, b, maxEpochs, updates, false)
    }

    public func scores(_ features: Tensor) throws -> Tensor {
        try checkedFeatures(features, count: weights.shape[1], dtype: .float64).matmul(weights.t()) + bias
    }

    public func predict(_ features: Tensor) throws -> Tensor {
        let s = try scores(features)
        return weights.shape[0] == 1 ? try s.squeezed(dim: 1).gt(0).to(.int64) : try s.argmax(dim: 1)
    }
}
