import Foundation
import Torch

/// A random change of basis A and its inverse for a d-dimensional hidden layer.
public struct ChangeOfBasis: Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A rotation or reflection: lengths and angles stay, only the axes move.
        case orthogonal
        /// U·diag(s)·Vᵀ with U, V orthogonal and s log-uniform in [c^-½, c^½] (condition number
        /// at most c = `conditionNumber`): lengths and angles change too.
        case invertible
    }

    public let kind: Kind
    public let matrix: Tensor
    public let inverse: Tensor

    /// The orthogonal factors come from the SVD of a Gaussian matrix; float64 throughout.
    public init(_ kind: Kind, dimension d: Int, conditionNumber: Double = 10, seed: UInt64) throws {
        guard d >= 1 else { throw TorchError("a change of basis needs at least one dimension") }
        guard conditionNumber >= 1 else { throw TorchError("a condition number is at least 1, got \(conditionNumber)") }
        let generator = Generator(seed: seed)
        let gaussian = try Tensor.randn([d, d], dtype: .float64, generator: generator).svd()
        self.kind = kind
        switch kind {
        case .orthogonal:
            matrix = gaussian.u
            inverse = try gaussian.u.transposed(0, 1).contiguous()
        case .invertible:
            let exponents = try Tensor.rand([d], dtype: .float64, generator: generator) - 0.5
            let scales = try (exponents * Foundation.log(conditionNumber)).exp()
            matrix = try (gaussian.u * scales.unsqueezed(dim: 0)).matmul(gaussian.vh)
            inverse = try (gaussian.vh.transposed(0, 1) / scales.unsqueezed(dim: 0)).matmul(gaussian.u.transposed(0, 1))
        }
    }
}
