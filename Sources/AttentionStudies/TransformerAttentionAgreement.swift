import Attribution
import Datasets
import Foundation
import NN
import TextModels
import Torch

/// Jain & Wallace's (2019, §4.1) agreement test on transformer classifiers: per text, Kendall τ
/// between each attention head's weights and three importance measures, for every layer and head,
/// each layer's head mean, and attention rollout (Abnar & Zuidema 2020, "Quantifying Attention
/// Flow in Transformers").
///
/// A transformer has no single attention vector per text. With mean pooling every position's final
/// state counts equally, so a head's weight for token j is the attention j receives, averaged over
/// the text's query positions. Rollout multiplies each layer's head-mean pattern, mixed half and
/// half with the identity for the residual stream, from the first layer to the last, and takes
/// the same mean over queries.
///
/// The measures, for the predicted class's probability: |gradient × embedding| and |Integrated
/// Gradients| (Sundararajan et al. 2017) at the token embeddings, summed per token, the baseline
/// every ranked token replaced by the unknown token (Gauss–Legendre nodes); and leave-one-out, the
/// total variation distance of the output when the token is deleted. Only content tokens are
/// ranked: a BERT encoder's [CLS] and [SEP] are left out.
public enum TransformerAttentionAgreement {
    /// What the study needs to know about a classifier of token ids (N, T) → logits (N, classes).
    public struct Subject {
        public var model: Module
        /// The token embeddings (N, T, d), where the gradient-based measures are taken.
        public var embeddingHookPoint: String
        /// Each layer's attention pattern (N, heads, T, T), first layer first.
        public var patternHookPoints: [String]
        public var unknownId: Int
        /// The first and last token of every text are [CLS] and [SEP], not ranked.
        public var specialTokens: Bool

        public init(model: Module, embeddingHookPoint: String, patternHookPoints: [String], unknownId: Int, specialTokens: Bool) {
            (self.model, self.embeddingHookPoint, self.patternHookPoints) = (model, embeddingHookPoint, patternHookPoints)
            (self.unknownId, self.specialTokens) = (unknownId, specialTokens)
        }
    }

    /// Where attention-based importance comes from.
    public enum Source: Codable, Sendable, Hashable {
        case head(layer: Int, head: Int)
        case layerMean(layer: Int)
        case rollout

        public var name: String {
            switch self {
            case .head(let layer, let head): "layer \(layer) head \(head)"
            case .layerMean(let layer): "layer \(layer) mean of heads"
            case .rollout: "attention rollout"
            }
        }
    }

    /// τ over the texts: the summary, texts per τ bin (20 bins of 0.1 from −1 to 1), and the
    /// summary per predicted class.
    public struct Comparison: Codable, Sendable {
        public var summary: AttentionAgreement.Summary
        public var histogram: [Int]
        public var byClass: [AttentionAgreement.Summary]
    }

    public struct SourceResult: Codable, Sendable {
        public var source: Source
        public var gradient: Comparison
        public var integratedGradients: Comparison
        public var leaveOneOut: Comparison
    }

    public struct Result: Codable, Sendable {
        public var sources: [SourceResult]
        public var gradientVsLeaveOneOut: Comparison
        public var integratedGradientsVsLeaveOneOut: Comparison
        public var gradientVsIntegratedGradients: Comparison
        public var texts: Int, layers: Int, heads: Int, steps: Int
        /// Predicted texts per class.
        public var predictedCounts: [Int]
    }

    /// `texts`: each text's token ids without padding (id 0 pads). `steps`: Integrated Gradients' nodes.
    public static func measure(_ subject: Subject, texts: [[Int]], steps: Int = 16, batchSize: Int = 32,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        guard !texts.isEmpty else { throw TorchError("no texts to measure") }
        guard steps >= 1 else { throw TorchError("Integrated Gradients needs at least 1 step") }
        guard !subject.patternHookPoints.isEmpty else { throw TorchError("the model names no attention pattern hook points") }
        // Batches of similar lengths, longest first, split between one-thread workers (many small
        // operations: two one-thread workers beat one two-thread loop on 2 cores).
        let batches = try TokenBatch.buckets(lengths: texts.map(\.count), batchSize: batchSize).reversed().map { $0.map { texts[$0] } }
        let shared = UncheckedSendable(subject)
        let computed = try Torch.concurrentMap(batches.count, workers: Torch.threads, progress: { done in
            progress(Swift.min(texts.count, done * batchSize), texts.count)
        }) { index in
            try BatchScores(shared.value, ids: TokenBatch(batches[index], padding: 0).ids, steps: steps)
        }
        var taus: [Key: [KendallTau?]] = [:], classes: [Int] = [], heads = 0
        for scores in computed {
            heads = scores.heads
            for row in 0..<scores.lengths.count {
                classes.append(scores.predicted[row])
                let span = subject.specialTokens ? 1..<(scores.lengths[row] - 1) : 0..<scores.lengths[row]
                let measures = [scores.gradient[row], scores.integrated[row], scores.leaveOneOut[row]].map { $0[span].map(Swift.abs) }
                for (source, weights) in scores.attention(row) {
                    for (measure, values) in measures.enumerated() { taus[Key(source: source, measure: measure), default: []].append(KendallTau(Array(weights[span]), values)) }
                }
                for (pair, (a, b)) in [(0, 2), (1, 2), (0, 1)].enumerated() {
                    taus[Key(source: nil, measure: pair), default: []].append(KendallTau(measures[a], measures[b]))
                }
            }
        }
        let classCount = (classes.max() ?? 0) + 1
        func comparison(_ key: Key) -> Comparison {
            let values = taus[key] ?? []
            var histogram = [Int](repeating: 0, count: 20)
            for tau in values.compactMap({ $0?.tau }) { histogram[Swift.min(19, Int(((tau + 1) * 10).rounded(.down)))] += 1 }
            let byClass = (0..<classCount).map { c in AttentionAgreement.summary(zip(values, classes).filter { $0.1 == c }.map(\.0)) }
            return Comparison(summary: AttentionAgreement.summary(values), histogram: histogram, byClass: byClass)
        }
        let layers = subject.patternHookPoints.count
        let sources = BatchScores.sources(layers: layers, heads: heads)
        return Result(sources: sources.map { s in
                          SourceResult(source: s, gradient: comparison(Key(source: s, measure: 0)),
                                       integratedGradients: comparison(Key(source: s, measure: 1)), leaveOneOut: comparison(Key(source: s, measure: 2)))
                      },
                      gradientVsLeaveOneOut: comparison(Key(source: nil, measure: 0)),
                      integratedGradientsVsLeaveOneOut: comparison(Key(source: nil, measure: 1)),
                      gradientVsIntegratedGradients: comparison(Key(source: nil, measure: 2)),
                      texts: texts.count, layers: layers, heads: heads, steps: steps,
                      predictedCounts: (0..<classCount).map { c in classes.filter { $0 == c }.count })
    }

    struct Key: Hashable {
        var source: Source?
        var measure: Int
    }
}

/// One padded batch's attention and importance scores, as (row-major) Double arrays.
struct BatchScores: Sendable {
    let lengths: [Int], predicted: [Int]
    let layers: Int, heads: Int, width: Int
    /// (N, layers, heads, T) attention received, (N, layers, T) head means, (N, T) rollout.
    let received: [Double], layerMeans: [Double], rollout: [Double]
    /// Per text, per token: gradient × input and Integrated Gradients (signed), leave-one-out TVD.
    let gradient: [[Double]], integrated: [[Double]], leaveOneOut: [[Double]]

    init(_ subject: TransformerAttentionAgreement.Subject, ids: Tensor, steps: Int) throws {
        let model = subject.model
        let (n, t) = (ids.shape[0], ids.shape[1])
        width = t
        lengths = try ids.ne(0).to(.int64).sum(dims: [1]).scalars(as: Int64.self).map { Int($0) }
        var embedded: Tensor?
        var patterns = [Tensor?](repeating: nil, count: subject.patternHookPoints.count)
        let hooks: [(hookPoint: String, hook: ActivationHook)] = [(subject.embeddingHookPoint, { activation, _ in embedded = activation; return nil })]
            + subject.patternHookPoints.enumerated().map { index, name in (name, { activation, _ in patterns[index] = try activation.detached(); return nil }) }
        let probabilities = try withGrad { try model.withHooks(hooks) { try model(ids).softmax(dim: 1) } }
        guard let embedded, patterns.allSatisfy({ $0 != nil }) else { throw TorchError("the model did not reach its embedding or attention hook points") }
        let chosenClass = try probabilities.detached().argmax(dim: 1)
        predicted = try chosenClass.scalars(as: Int64.self).map { Int($0) }
        func chosen(_ output: Tensor) throws -> Tensor { try output.gather(dim: 1, index: chosenClass.unsqueezed(dim: 1)).sum() }
        let input = try embedded.detached()
        gradient = try Self.rows(Tensor.grad(of: chosen(probabilities), wrt: embedded) * input, lengths: lengths)

        // Integrated Gradients from every ranked token replaced by the unknown token.
        var ranked = [Int64](repeating: 0, count: n * t)
        for (row, length) in lengths.enumerated() {
            for position in (subject.specialTokens ? 1..<(length - 1) : 0..<length) { ranked[row * t + position] = 1 }
        }
        let rankedMask = try Tensor(ranked, shape: [n, t])
        let baselineIds = try ids * (1 - rankedMask) + rankedMask * (try Tensor(scalar: Double(subject.unknownId), dtype: .int64))
        var baseline: Tensor?
        _ = try noGrad { try model.withHooks([(subject.embeddingHookPoint, { activation, _ in baseline = activation; return nil })]) { try model(baselineIds) } }
        guard let baseline else { throw TorchError("the model did not reach its embedding hook point") }
        let difference = try input - baseline
        var average = try Tensor.zeros(input.shape, dtype: input.dtype)
        let nodes = try IntegrationRule.gaussLegendre.nodes(steps)
        for (alpha, weight) in zip(nodes.alphas, nodes.weights) {
            let point = try (baseline + difference * alpha).detached().requiringGrad()
            let output = try withGrad { try model.withHooks([(subject.embeddingHookPoint, { _, _ in point })]) { try model(ids).softmax(dim: 1) } }
            average = try average + Tensor.grad(of: chosen(output), wrt: point) * weight
        }
        integrated = try Self.rows(difference * average, lengths: lengths)
        leaveOneOut = try TokenImportance.deletionDistances(model, ids: ids, lengths: lengths, probabilities: probabilities.detached(),
                                                            chunk: 512, trimmed: true)

        // Attention each token receives, averaged over the text's query positions.
        let queries = try ids.ne(0).to(.float32)
        let count = try queries.sum(dims: [1]).reshaped([n, 1, 1])
        func received(_ pattern: Tensor) throws -> Tensor {
            try (pattern * queries.reshaped([n, 1, t, 1])).sum(dims: [2]) / count
        }
        let stacked = try Tensor.stack(patterns.map { $0! }, dim: 1)  // (N, L, H, T, T)
        (layers, heads) = (stacked.shape[1], stacked.shape[2])
        let perHead = try received(stacked.reshaped([n, layers * heads, t, t]))
        self.received = try perHead.to(.float64).scalars(as: Double.self)
        layerMeans = try perHead.reshaped([n, layers, heads, t]).mean(dims: [2]).to(.float64).scalars(as: Double.self)
        var flow = try Tensor.eye(t).unsqueezed(dim: 0)
        for layer in 0..<layers {
            let mixed = try stacked.select(dim: 1, index: layer).mean(dims: [1]) * 0.5 + Tensor.eye(t).unsqueezed(dim: 0) * 0.5
            flow = try mixed.matmul(flow)
        }
        rollout = try received(flow.unsqueezed(dim: 1)).to(.float64).scalars(as: Double.self)
    }

    /// The sources in the order `attention(_:)` lists them: every head, each layer's mean, rollout (with 2+ layers).
    static func sources(layers: Int, heads: Int) -> [TransformerAttentionAgreement.Source] {
        (0..<layers).flatMap { l in (0..<heads).map { .head(layer: l, head: $0) } } + (0..<layers).map { .layerMean(layer: $0) }
            + (layers > 1 ? [.rollout] : [])
    }

    /// Row `row`'s attention weights per source, over its first `lengths[row]` positions.
    func attention(_ row: Int) -> [(TransformerAttentionAgreement.Source, [Double])] {
        let length = lengths[row]
        func slice(_ values: [Double], _ offset: Int) -> [Double] { Array(values[offset..<(offset + length)]) }
        var result: [(TransformerAttentionAgreement.Source, [Double])] = []
        for source in Self.sources(layers: layers, heads: heads) {
            switch source {
            case .head(let l, let h): result.append((source, slice(received, ((row * layers + l) * heads + h) * width)))
            case .layerMean(let l): result.append((source, slice(layerMeans, (row * layers + l) * width)))
            case .rollout: result.append((source, slice(rollout, row * width)))
            }
        }
        return result
    }

    /// The sum over the embedding per token, each row cut to its length.
    static func rows(_ perDimension: Tensor, lengths: [Int]) throws -> [[Double]] {
        let width = perDimension.shape[1]
        let values = try perDimension.sum(dims: [2]).to(.float64).scalars(as: Double.self)
        return lengths.enumerated().map { row, length in Array(values[(row * width)..<(row * width + length)]) }
    }
}
