import Torch

/// Token sequences as one padded batch: ids (N, T) int64 and a mask (N, T) bool (true on tokens),
/// T the longest sequence (at most `maxLength`, longer ones cut keeping their start).
public struct TokenBatch {
    public let ids: Tensor
    public let mask: Tensor
    public let lengths: [Int]

    public init(_ sequences: [[Int]], padding: Int, maxLength: Int? = nil) throws {
        guard !sequences.isEmpty else { throw TorchError("a batch needs at least one sequence") }
        let cut: [[Int]] = sequences.map { sequence in maxLength.map { Array(sequence.prefix($0)) } ?? sequence }
        let width = Swift.max(1, cut.map(\.count).max() ?? 1)
        var ids = [Int64](repeating: Int64(padding), count: cut.count * width)
        var mask = [Bool](repeating: false, count: cut.count * width)
        for (row, sequence) in cut.enumerated() {
            for (column, id) in sequence.enumerated() {
                ids[row * width + column] = Int64(id)
                mask[row * width + column] = true
            }
        }
        self.ids = try Tensor(ids, shape: [cut.count, width])
        self.mask = try Tensor(mask, shape: [cut.count, width])
        lengths = cut.map(\.count)
    }

    /// Batches of indices into `lengths`, each of similar lengths (sorted, then cut into
    /// `batchSize` pieces). With a `generator`, texts of equal length are sorted in a random order
    /// and the batches shuffled, so training still sees different batches every epoch; without one,
    /// batches come shortest first. Little padding per batch either way.
    public static func buckets(lengths: [Int], batchSize: Int, generator: Generator? = nil) throws -> [[Int]] {
        guard batchSize >= 1 else { throw TorchError("the batch size must be at least 1") }
        var tieBreak = Array(lengths.indices)
        if let generator, lengths.count > 1 {
            tieBreak = try Tensor.randperm(lengths.count, generator: generator).scalars(as: Int64.self).map { Int($0) }
        }
        let sorted = lengths.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] < lengths[$1] : tieBreak[$0] < tieBreak[$1] }
        let batches = stride(from: 0, to: sorted.count, by: batchSize).map { Array(sorted[$0..<Swift.min($0 + batchSize, sorted.count)]) }
        guard let generator, batches.count > 1 else { return batches }
        return try Tensor.randperm(batches.count, generator: generator).scalars(as: Int64.self).map { batches[Int($0)] }
    }

    /// Padded ids (N, T) without the padding columns every row has at its end.
    public static func trimmed(_ ids: Tensor, padding: Int = 0) throws -> Tensor {
        let longest = try ids.ne(Double(padding)).to(.int64).sum(dims: [1]).max().itemInt()
        return longest == ids.shape[1] ? ids : try ids.slice(dim: 1, start: 0, end: Swift.max(1, longest))
    }
}
