import Attribution
import Datasets
import ExplanationCore
import Foundation
import NN
import Report
import TextModels
import Torch

/// `glassbox text explain`: which tokens a trained text classifier's prediction rests on, by
/// several methods side by side: Integrated Gradients and gradient × input in embedding space
/// (summed over the embedding per token; Sundararajan et al. 2017, Shrikumar et al. 2016),
/// leave-one-out (the drop in the class's probability when the token is deleted), Shapley
/// sampling over tokens replaced by [UNK] (Castro et al. 2009), LIME over the same
/// replacements (Ribeiro et al. 2016), and, for the BiLSTM, its attention weights (the explanation Jain & Wallace 2019 put to the test).
public enum TokenAttribution {
    public struct Record: Codable, Sendable {
        public var text: String
        public var tokens: [String]
        public var predicted: String
        public var probability: Double
        public var target: String
        /// Per method, one score per token.
        public var scores: [String: [Double]]
        /// The completeness gap of Integrated Gradients (or of the method, when it reports one):
        /// Σ attributions − (f(x) − f(baseline)) for the target logit, the baseline being the text with
        /// every token replaced by [UNK]; nil for methods without one.
        public var convergenceDelta: Double?
    }

    public static func explain(_ texts: [String], file: TextModelFile, targetClass: Int?, steps: Int = 50, out: String) throws -> [Record] {
        let model = try file.network()
        return try scoreTokens(texts, file: file, model: model, targetClass: targetClass, methods: methodOrder, out: out) { ids, target, probability in
            var ig = LayerIntegratedGradients(model, hookPoint: "embedding")
            ig.steps = steps
            // Baseline: every token [UNK], so the baseline text has the input's length and padding mask and
            // the path runs only through the embeddings (an all-padding baseline would also change the mask).
            ig.baseline = .tensor(try ids.ne(0).to(.int64) * Tensor(scalar: Double(WordVocabulary.unknown), dtype: .int64))
            let integrated = try ig.attribute(ids, target: .index(target))
            var scores = ["integrated-gradients": try integrated.values.sum(dims: [2])[0].to(.float64).scalars(as: Double.self)]
            let (activation, gradient) = try layerActivationsAndGradients(model, ids, targets: Tensor([target], shape: [1]), hookPoint: "embedding")
            scores["gradient-x-input"] = try (activation * gradient).sum(dims: [2])[0].to(.float64).scalars(as: Double.self)
            scores["leave-one-out"] = try leaveOneOut(model, ids, target: target, probability: probability)
            // Shapley values of the tokens (Castro et al. 2009 sampling): each token replaced by [UNK] in random orders.
            let shapley = ShapleyValueSampling(model, baseline: .value(Double(WordVocabulary.unknown)), samples: 25, seed: 0)
            scores["shapley-sampling"] = try ProgressObserver.quietly { try shapley.attribute(ids, target: .index(target)) }.values[0].to(.float64).scalars(as: Double.self)
            let lime = LIME(model, baseline: .value(Double(WordVocabulary.unknown)), samples: MethodCatalog.surrogateSamples, seed: 0)
            scores["lime"] = try ProgressObserver.quietly { try lime.attribute(ids, target: .index(target)) }.values[0].to(.float64).scalars(as: Double.self)
            if let bilstm = model as? BiLSTMAttentionClassifier {
                scores["attention"] = try noGrad { try bilstm.attentionWeights(ids)[0] }.to(.float64).scalars(as: Double.self)
            }
            return (scores, try integrated.convergenceDelta?.abs().max().item())
        }
    }

    /// `glassbox attribute --text`: any catalog method on a text classifier's token ids. Layer
    /// methods (at `--layer embedding`) are summed over the embedding per token; perturbation
    /// methods score the tokens directly. The baseline is [UNK] for every token unless the settings
    /// name another (padding, id 0, would also change the model's padding mask). Writes tokens.json
    /// and tokens.html.
    public static func catalog(method name: String, settings: MethodSettings, texts: [String], file: TextModelFile, targetClass: Int?,
                               out: String) throws -> [Record] {
        var settings = settings
        if settings.baseline == nil, try MethodCatalog.entry(named: name).options.contains(.baseline) {
            settings.baseline = .value(Double(WordVocabulary.unknown))
        }
        let model = try file.network()
        return try scoreTokens(texts, file: file, model: model, targetClass: targetClass, methods: [name], out: out) { ids, target, _ in
            let method = try MethodCatalog.method(named: name, model: model, featureShape: Array(ids.shape.dropFirst()), settings: settings)
            let result = try method.attribute(ids, target: .index(target))
            var values = result.values
            if values.rank == 3 { values = try values.sum(dims: [2]) }
            guard values.shape == ids.shape else {
                throw TorchError("\(name) gave attributions of shape \(result.values.shape), not one per token; use a layer method at --layer embedding or a perturbation method")
            }
            return ([name: try values[0].to(.float64).scalars(as: Double.self)], try result.convergenceDelta?.abs().max().item())
        }
    }

    /// Each text's ids, prediction and target class (the given one, else the predicted), its scores
    /// from `score(ids, target, probability of the target)`, and tokens.json and tokens.html.
    static func scoreTokens(_ texts: [String], file: TextModelFile, model: Module, targetClass: Int?, methods: [String], out: String,
                            score: (Tensor, Int, Double) throws -> (scores: [String: [Double]], delta: Double?)) throws -> [Record] {
        let classNames = file.task.classNames
        if let targetClass, !(0..<classNames.count).contains(targetClass) {
            throw TorchError("the target class must be in 0..<\(classNames.count) (\(classNames.joined(separator: ", ")))")
        }
        try OutputFolder.prepare(out)
        var records: [Record] = []
        for (index, text) in texts.enumerated() {
            let ids = try file.ids([text])
            let probabilities = try noGrad { try model(ids).softmax(dim: 1)[0] }.to(.float64).scalars(as: Double.self)
            let predicted = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            let target = targetClass ?? predicted
            let (scores, delta) = try score(ids, target, probabilities[target])
            records.append(Record(text: text, tokens: try file.tokens(ids), predicted: classNames[predicted], probability: probabilities[predicted],
                                  target: classNames[target], scores: scores, convergenceDelta: delta))
            ProgressObserver.report("texts", done: index + 1, of: texts.count, unit: "texts")
        }
        try JSONFile.write(records, to: path(out, "tokens.json"))
        try page(records, methods: methods).write(to: path(out, "tokens.html"))
        return records
    }

    /// The target class's probability minus its probability with each token deleted (one batch).
    static func leaveOneOut(_ model: Module, _ ids: Tensor, target: Int, probability: Double) throws -> [Double] {
        guard ids.shape[1] > 1 else { return [probability - 1 / Double(try model(ids).shape[1])] }
        let batch = try TokenDeletions.variants(of: ids).ids
        let without = try noGrad { try model(batch).softmax(dim: 1).select(dim: 1, index: target) }.to(.float64).scalars(as: Double.self)
        return without.map { probability - $0 }
    }

    public static let methodOrder = ["integrated-gradients", "gradient-x-input", "leave-one-out", "shapley-sampling", "lime", "attention"]

    /// Tokens coloured by score, one row per method: red for, blue against the target class
    /// (attention, which is never negative, in red), each row on its own scale.
    static func page(_ records: [Record], methods: [String]) -> HTMLPage {
        var page = HTMLPage(title: "Why this sentiment? Token attributions")
        page.paragraph("Each row colours the text's tokens by one method's scores for the target class: red supports it, blue speaks against it, white is neutral; each row is scaled to its own largest |score|. Integrated Gradients and gradient × input are computed in embedding space and summed per token; leave-one-out is the drop in the class's probability when the token is deleted; Shapley sampling averages each token's effect on the class's logit, replaced by [UNK], over 25 random orders; LIME fits a weighted linear model to the logit over \(MethodCatalog.surrogateSamples) random sets of tokens replaced by [UNK], sets with more tokens kept weighing more (cosine kernel, width \(LIME.tokenKernelWidth)); attention is the BiLSTM's attention weight (Jain & Wallace 2019 ask whether it explains anything).")
        for record in records {
            page.heading(record.text.count > 80 ? String(record.text.prefix(77)) + "…" : record.text)
            page.paragraph(String(format: "predicted %@ (%.1f%%); explaining %@.", record.predicted, 100 * record.probability, record.target)
                           + (record.convergenceDelta.map { String(format: " Completeness gap %.2g.", $0) } ?? ""))
            var rows = ["<table>"]
            for method in methods {
                guard let scores = record.scores[method] else { continue }
                rows.append("<tr><th style=\"text-align:left\">\(method)</th><td style=\"text-align:left\">\(colouredTokens(record.tokens, scores))</td></tr>")
            }
            page.html(rows.joined() + "</table>")
        }
        return page
    }

    /// Tokens as spans coloured by their scores: red positive, blue negative, white 0, scaled to
    /// the largest |score| (or to `scale`); the score shows on hover.
    static func colouredTokens(_ tokens: [String], _ scores: [Double], scale fixed: Double? = nil) -> String {
        let scale = Swift.max(fixed ?? scores.map(Swift.abs).max() ?? 0, 1e-12)
        return zip(tokens, scores).map { token, score -> String in
            let v = Swift.max(-1, Swift.min(1, score / scale))
            let color = v >= 0 ? String(format: "rgb(255,%d,%d)", Int(255 * (1 - v)), Int(255 * (1 - v)))
                               : String(format: "rgb(%d,%d,255)", Int(255 * (1 + v)), Int(255 * (1 + v)))
            return "<span title=\"\(String(format: "%.4g", score))\" style=\"background:\(color);padding:1px 3px;margin:1px;display:inline-block\">\(escapeHTML(token))</span>"
        }.joined()
    }
}
