import Torch

/// Leave-one-out inputs: every text of a padded batch (N, T) with each of its tokens deleted in
/// turn, the rest shifted left and padded with 0 to width T. Texts of one token give none.
public enum TokenDeletions {
    /// The variants (Σ lengths of texts with 2+ tokens, T) and, per variant, its text's row.
    public static func variants(of ids: Tensor) throws -> (ids: Tensor, owners: [Int]) {
        let width = ids.shape[1]
        let values = try ids.scalars(as: Int64.self)
        let lengths = try ids.ne(0).to(.int64).sum(dims: [1]).scalars(as: Int64.self).map { Int($0) }
        var variants: [Int64] = [], owners: [Int] = []
        for (row, length) in lengths.enumerated() where length > 1 {
            let tokens = values[(row * width)..<(row * width + length)]
            for skip in 0..<length {
                variants += tokens.enumerated().filter { $0.offset != skip }.map(\.element) + Array(repeating: 0, count: width - length + 1)
                owners.append(row)
            }
        }
        return (try Tensor(variants, shape: [owners.count, width]), owners)
    }
}
