import Torch

/// The singular spectra of a batch of Jacobians (N, dOut, dIn) and three effective ranks of each:
/// how many directions of the input side a layer pair actually passes on, per input.
public struct JacobianSpectrum: Sendable {
    /// (N, min(dOut, dIn)), each row descending.
    public let singularValues: Tensor

    public init(jacobians: Tensor) throws {
        guard jacobians.rank == 3 else { throw TorchError("Jacobians must be (inputs, outputs, inputs' dimensions), got \(jacobians.shape)") }
        singularValues = try jacobians.to(.float64).singularValues()
    }

    public init(singularValues: Tensor) {
        self.singularValues = singularValues
    }

    /// exp of the Shannon entropy of the singular values normalised to sum 1
    /// (Roy & Vetterli 2007, "The effective rank: a measure of effective dimensionality").
    /// 0 for a zero Jacobian.
    public func entropyRank() throws -> [Double] {
        let total = try singularValues.sum(dims: [1], keepDims: true)
        let p = try singularValues / total.clamp(min: 1e-300)
        let entropy = try -(p * p.clamp(min: 1e-300).log()).sum(dims: [1])
        return try zip(entropy.exp().scalars(as: Double.self), total.scalars(as: Double.self)).map { $1 > 0 ? $0 : 0 }
    }

    /// The participation ratio (Σσ²)² / Σσ⁴: the number of equally strong directions that would
    /// carry the same squared-gain distribution. 0 for a zero Jacobian.
    public func participationRatio() throws -> [Double] {
        let squares = try singularValues * singularValues
        let sum = try squares.sum(dims: [1]), sumOfSquares = try (squares * squares).sum(dims: [1])
        return try (sum * sum / sumOfSquares.clamp(min: 1e-300)).scalars(as: Double.self)
    }

    /// How many singular values exceed `relativeThreshold` times the largest.
    public func thresholdRank(relativeThreshold: Double) throws -> [Double] {
        let largest = try singularValues.max(dims: [1], keepDims: true)
        let above = try singularValues.gt(try largest * relativeThreshold).logicalAnd(largest.gt(0))
        return try above.to(.float64).sum(dims: [1]).scalars(as: Double.self)
    }

    /// Each input's spectrum divided by its largest singular value (rows of zeros stay zero).
    public func normalized() throws -> Tensor {
        try singularValues / singularValues.max(dims: [1], keepDims: true).clamp(min: 1e-300)
    }
}
