import NN
import TextModels
import Torch

/// For each text of a batch, over its real tokens: the classifier's attention weights and the two
/// importance measures Jain & Wallace (2019) compare them with. Gradient importance is
/// |Σ_d ∂ŷ/∂e_td · e_td| (gradient × input at the embedding, summed per token), ŷ the predicted
/// class's probability, with the attention weights held fixed as in the paper; leave-one-out
/// importance is the total variation distance between the output distributions with and without
/// the token.
public struct TokenImportance: Sendable {
    public var attention: [Double]
    public var gradient: [Double]
    public var leaveOneOut: [Double]
    /// Class probabilities with the text whole.
    public var probabilities: [Double]
    public var predicted: Int

    /// ids (N, T), padding 0 after each text's tokens.
    public static func measure(_ model: BiLSTMAttentionClassifier, ids: Tensor) throws -> [TokenImportance] {
        let (n, width) = (ids.shape[0], ids.shape[1])
        let lengths = try ids.ne(0).to(.int64).sum(dims: [1]).scalars(as: Int64.self).map { Int($0) }
        let (weights, probabilities) = try noGrad {
            let run = try model.run(ids)
            return (run.weights, try run.logits.softmax(dim: 1))
        }
        let predicted = try probabilities.argmax(dim: 1)
        var embedded: Tensor?
        let frozen = try withGrad {
            try model.withHooks([("embedding", { activation, _ in embedded = activation; return nil })]) {
                try model.run(ids, attentionWeights: weights).logits.softmax(dim: 1)
            }
        }
        guard let embedded else { throw TorchError("the classifier's embedding hook point was not reached") }
        let chosen = try frozen.gather(dim: 1, index: predicted.unsqueezed(dim: 1)).sum()
        let gradient = try (Tensor.grad(of: chosen, wrt: embedded) * embedded.detached()).sum(dims: [2]).abs()
        let leaveOneOut = try deletionDistances(model, ids: ids, lengths: lengths, probabilities: probabilities)
        let columns = [try weights.to(.float64).scalars(as: Double.self), try gradient.to(.float64).scalars(as: Double.self)]
        let p = try probabilities.to(.float64).scalars(as: Double.self), classes = probabilities.shape[1]
        let labels = try predicted.scalars(as: Int64.self)
        return (0..<n).map { row in
            let span = (row * width)..<(row * width + lengths[row])
            return TokenImportance(attention: Array(columns[0][span]), gradient: Array(columns[1][span]), leaveOneOut: leaveOneOut[row],
                                   probabilities: Array(p[(row * classes)..<((row + 1) * classes)]), predicted: Int(labels[row]))
        }
    }

    /// Per text, the TVD between its output and its output with each token deleted: every
    /// deletion of the batch in one forward pass.
    static func deletionDistances(_ model: BiLSTMAttentionClassifier, ids: Tensor, lengths: [Int], probabilities: Tensor) throws -> [[Double]] {
        let width = ids.shape[1]
        let values = try ids.scalars(as: Int64.self)
        var variants: [Int64] = [], owners: [Int64] = []
        for (row, length) in lengths.enumerated() where length > 1 {
            let tokens = Array(values[(row * width)..<(row * width + length)])
            for skip in 0..<length {
                variants += tokens.enumerated().filter { $0.offset != skip }.map(\.element) + Array(repeating: 0, count: width - length + 1)
                owners.append(Int64(row))
            }
        }
        var distances = lengths.map { [Double](repeating: 0, count: $0) }
        guard !owners.isEmpty else { return distances }
        let deleted = try Tensor(variants, shape: [owners.count, width])
        let changed = try noGrad { try model(deleted).softmax(dim: 1) }
        let original = try probabilities.indexSelect(dim: 0, index: Tensor(owners, shape: [owners.count]))
        let tvd = try Divergence.totalVariation(changed, original).to(.float64).scalars(as: Double.self)
        var position = 0
        for (row, length) in lengths.enumerated() where length > 1 {
            distances[row] = Array(tvd[position..<(position + length)])
            position += length
        }
        return distances
    }
}
