import Torch

/// Whether a layer pair has "a consistent low-dimensional factorisation": do different inputs'
/// Jacobians use the same few input and output directions?
///
/// For every pair among the first `maxInputs` inputs, the principal angles between their top-k
/// right (input-side) and left (output-side) singular subspaces (Björck & Golub 1973): the
/// cosines are the singular values of V_aᵀV_b. The summary is the mean squared cosine, 1 for
/// identical subspaces and k/d on average for random ones. Besides, the top-k directions of all
/// inputs together (eigenvectors of ΣJᵀJ, and of ΣJJᵀ) and the share of each input's squared
/// Frobenius norm that they capture (k/d expected for a random subspace).
public struct SubspaceAgreement: Sendable, Codable {
    public var k: Int
    public var pairs: Int
    /// Mean over pairs of the mean squared cosine of the input-side principal angles.
    public var inputSideOverlap: Double
    public var outputSideOverlap: Double
    /// The same for random k-dimensional subspaces: k / d.
    public var inputSideChance: Double
    public var outputSideChance: Double
    /// Per pair, the cosines of the input-side principal angles, largest first (first 200 pairs).
    public var inputSideCosines: [[Double]]
    /// Per input, the share of ‖J‖²_F inside the shared top-k input-side subspace.
    public var sharedInputCapture: [Double]
    public var sharedOutputCapture: [Double]

    /// `decomposition`: the reduced SVD of the first `maxInputs` Jacobians, when the caller has it.
    public init(jacobians: Tensor, k requested: Int, maxInputs: Int = 64, decomposition: (u: Tensor, s: Tensor, vh: Tensor)? = nil) throws {
        guard jacobians.rank == 3 else { throw TorchError("Jacobians must be (inputs, outputs, inputs' dimensions), got \(jacobians.shape)") }
        let (n, dOut, dIn) = (jacobians.shape[0], jacobians.shape[1], jacobians.shape[2])
        let k = max(1, min(requested, dOut, dIn))
        let j = try jacobians.to(.float64)
        let used = min(n, max(2, maxInputs))
        let svd = try decomposition ?? j.slice(dim: 0, start: 0, end: used).svd()
        let right = try svd.vh.slice(dim: 1, start: 0, end: k)                 // (used, k, dIn)
        let left = try svd.u.slice(dim: 2, start: 0, end: k).transposed(1, 2)  // (used, k, dOut)
        var first: [Int64] = [], second: [Int64] = []
        for a in 0..<used { for b in (a + 1)..<used { first.append(Int64(a)); second.append(Int64(b)) } }
        let inputCosines = try Self.cosines(right, first, second, k: k), outputCosines = try Self.cosines(left, first, second, k: k)
        (self.k, pairs) = (k, first.count)
        inputSideOverlap = try Self.meanSquare(inputCosines)
        outputSideOverlap = try Self.meanSquare(outputCosines)
        inputSideChance = Double(k) / Double(dIn)
        outputSideChance = Double(k) / Double(dOut)
        inputSideCosines = try (0..<min(first.count, 200)).map { try inputCosines.select(dim: 0, index: $0).scalars(as: Double.self) }

        // Shared directions: the top-k right singular vectors of all Jacobians stacked (the top
        // eigenvectors of ΣJᵀJ), and the top-k left ones (of ΣJJᵀ).
        let total = try j.square().sum(dims: [1, 2]).clamp(min: 1e-300)
        let sharedRight = try Self.topRightSingularVectors(j.reshaped([n * dOut, dIn]), k: k)                         // (dIn, k)
        sharedInputCapture = try (j.matmul(sharedRight).square().sum(dims: [1, 2]) / total).scalars(as: Double.self)
        let jt = try j.transposed(1, 2).contiguous()                                                                   // (n, dIn, dOut)
        let sharedLeft = try Self.topRightSingularVectors(jt.reshaped([n * dIn, dOut]), k: k)                          // (dOut, k)
        sharedOutputCapture = try (jt.matmul(sharedLeft).square().sum(dims: [1, 2]) / total).scalars(as: Double.self)
    }

    /// The top-k right singular vectors of a tall matrix m (rows, d) as columns (d, k), by
    /// randomized subspace iteration (Halko, Martinsson & Tropp 2011: k + 10 columns, 8 power
    /// iterations) so that d in the thousands never needs a d × d decomposition; seeded, so the
    /// same matrix gives the same vectors.
    static func topRightSingularVectors(_ m: Tensor, k: Int) throws -> Tensor {
        let d = m.shape[1], width = min(d, k + 10)
        var basis = try Tensor.randn([d, width], dtype: .float64, generator: Generator(seed: 0))
        for _ in 0..<8 {
            basis = try m.transposed(0, 1).matmul(m.matmul(basis)).svd().u
        }
        let small = try m.matmul(basis).svd()
        return try basis.matmul(small.vh.transposed(0, 1)).slice(dim: 1, start: 0, end: k)
    }

    /// Cosines of the principal angles between the row spaces of bases[first[p]] and bases[second[p]].
    static func cosines(_ bases: Tensor, _ first: [Int64], _ second: [Int64], k: Int) throws -> Tensor {
        guard !first.isEmpty else { return try Tensor.zeros([0, k], dtype: .float64) }
        let a = try bases.indexSelect(dim: 0, index: Tensor(first)), b = try bases.indexSelect(dim: 0, index: Tensor(second))
        return try a.matmul(b.transposed(1, 2)).svd().s.clamp(max: 1)
    }

    static func meanSquare(_ cosines: Tensor) throws -> Double {
        cosines.count == 0 ? .nan : try cosines.square().mean().item()
    }
}
