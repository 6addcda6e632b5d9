import Datasets
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
        // One forward pass: the states keep their graph to the embedding; the attention weights are
        // detached, so the gradient does not flow through them.
        var embedded: Tensor?
        let (weights, output) = try withGrad {
            let (states, keep) = try model.withHooks([("embedding", { activation, _ in embedded = activation; return nil })]) { try model.states(ids) }
            let weights = try model.attend(states, keep: keep).detached()
            return (weights, try model.classify(states: states, weights: weights).softmax(dim: 1))
        }
        guard let embedded else { throw TorchError("the classifier's embedding hook point was not reached") }
        let probabilities = try output.detached()
        let predicted = try probabilities.argmax(dim: 1)
        let chosen = try output.gather(dim: 1, index: predicted.unsqueezed(dim: 1)).sum()
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

    /// Per text, the TVD between its output and its output with each token deleted (zeros for a
    /// text of one token). The deletions go through `model` `chunk` at a time (by default all in
    /// one forward pass), each chunk cut to its longest row when `trimmed`.
    static func deletionDistances(_ model: Module, ids: Tensor, lengths: [Int], probabilities: Tensor, chunk: Int = .max,
                                  trimmed: Bool = false) throws -> [[Double]] {
        var distances = lengths.map { [Double](repeating: 0, count: $0) }
        let (deleted, owners) = try TokenDeletions.variants(of: ids)
        guard !owners.isEmpty else { return distances }
        var tvd: [Double] = []
        for start in stride(from: 0, to: owners.count, by: chunk) {
            let end = Swift.min(owners.count, start + chunk)
            var batch = end - start == owners.count ? deleted : try deleted.slice(dim: 0, start: start, end: end)
            if trimmed { batch = try TokenBatch.trimmed(batch) }
            let changed = try noGrad { try model(batch).softmax(dim: 1) }
            let original = try probabilities.indexSelect(dim: 0, index: Tensor(owners[start..<end].map { Int64($0) }, shape: [end - start]))
            tvd += try Divergence.totalVariation(changed, original).to(.float64).scalars(as: Double.self)
        }
        var position = 0
        for (row, length) in lengths.enumerated() where length > 1 {
            distances[row] = Array(tvd[position..<(position + length)])
            position += length
        }
        return distances
    }
}
