import Datasets
import DictionaryLearning
import Foundation
import NN
import Report
import Torch

/// `glassbox sae dashboard`: feature dashboards for an autoencoder trained on a tweet language
/// model's activations, on the first validation tweets (`FeatureDashboard`).
extension SAERun {
    public struct DashboardRecord: Codable, Sendable {
        public var hookPoint: String
        public var features: [FeatureDashboard]
        public var liveFeatures: Int, allFeatures: Int
        public var texts: Int, positions: Int
        /// How the output effects were computed.
        public var effectNote: String
        public var seed: UInt64
    }

    /// Dashboards of `features` (else `count` live features drawn at random); writes dashboard.json and dashboard.html.
    public static func dashboard(sae: SparseAutoencoder, hookPoint: String, languageModel modelPath: String, features chosen: [Int]?, count: Int = 12,
                                 texts: Int = 1000, seed: UInt64, out: String) throws -> DashboardRecord {
        try OutputFolder.prepare(out)
        let lm = try LanguageModelFile.load(modelPath)
        let chosenTexts = Array(try TweetCorpus.bundled(task: .threeClass).validation.texts.prefix(texts))
        let ids = try LanguageModelRun.sequences(chosenTexts, encode: lm.encode, maxLength: lm.model.configuration.maxLength)
        let width = ids.shape[1], values = try ids.scalars(as: Int64.self)
        let rows = (0..<ids.shape[0]).map { row in values[(row * width)..<((row + 1) * width)].filter { $0 != 0 }.map { Int($0) } }
        let locations = rows.enumerated().flatMap { text, tokens in tokens.indices.map { (text: text, position: $0) } }
        let x = try lm.tokenActivations(chosenTexts, at: [hookPoint]).activations[0]
        guard x.shape[0] == locations.count, x.shape[1] == sae.configuration.inputs else {
            throw TorchError("'\(hookPoint)' gives \(x.shape[1]) values per token; the autoencoder takes \(sae.configuration.inputs)")
        }
        let f = try noGrad { try sae.encode(x) }
        let live = try liveFeatures(f)
        let generator = Generator(seed: seed)
        let picked = try pickFeatures(chosen, live: live, count: count, of: sae.configuration.features, generator: generator)
        let (effects, note) = try outputEffects(sae, hookPoint: hookPoint, lm: lm)
        let columns = try f.indexSelect(dim: 1, index: Tensor(picked.map { Int64($0) }, shape: [picked.count])).t().contiguous().to(.float64)
        let vocabulary = lm.tokens.count
        let dashboards = try picked.enumerated().map { index, feature in
            try FeatureDashboard(feature: feature, activations: columns[index].scalars(as: Double.self), locations: locations,
                                 effects: effects.map { Array($0[(feature * vocabulary)..<((feature + 1) * vocabulary)]) } ?? [], generator: generator)
        }
        let record = DashboardRecord(hookPoint: hookPoint, features: dashboards, liveFeatures: live.count, allFeatures: sae.configuration.features,
                                     texts: rows.count, positions: locations.count, effectNote: note, seed: seed)
        try JSONFile.write(record, to: path(out, "dashboard.json"))
        try dashboardPage(record, rows: rows, tokens: lm.tokens, columns: columns).write(to: path(out, "dashboard.html"))
        return record
    }

    /// Each feature's direct effect on the logits, (features × vocabulary) row-major: its decoder
    /// direction through the MLP's output layer (for `hook_mlp_post`) and the unembedding,
    /// leaving out the final LayerNorm's scaling (the direct path of Elhage et al. 2021).
    static func outputEffects(_ sae: SparseAutoencoder, hookPoint: String, lm: LanguageModelFile) throws -> (effects: [Double]?, note: String) {
        let parameters = Dictionary(uniqueKeysWithValues: lm.model.namedParameters().map { ($0.name, $0.tensor) })
        guard let unembed = parameters["unembed.weight"] else { return (nil, "no unembedding found") }
        var directions = try sae.decoderWeight.detached()  // (F, d)
        if hookPoint.hasSuffix(".hook_mlp_post"), let out = parameters[hookPoint.replacingOccurrences(of: "hook_mlp_post", with: "linear2.weight")] {
            directions = try directions.matmul(out.t())
        }
        guard directions.shape[1] == unembed.shape[1] else { return (nil, "'\(hookPoint)' does not reach the unembedding by a linear path") }
        return (try noGrad { try directions.matmul(unembed.t()) }.to(.float64).scalars(as: Double.self),
                "decoder direction\(hookPoint.hasSuffix(".hook_mlp_post") ? " × the MLP's output weights" : "") × the unembedding (the final LayerNorm's scale left out)")
    }

    static func dashboardPage(_ record: DashboardRecord, rows: [[Int]], tokens: [String], columns: Tensor) throws -> HTMLPage {
        var page = HTMLPage(title: "Sparse autoencoder features")
        page.paragraph("Features of the autoencoder at \(record.hookPoint), on the first \(record.texts) validation tweets (\(record.positions) token positions); \(record.liveFeatures) of \(record.allFeatures) features fire there. For each: the contexts of its largest activations, examples drawn at random from five equal intervals of its activation (weak firings can mean something else than strong ones), the histogram of its positive activations, and the output tokens it promotes and suppresses (\(record.effectNote)). Tokens are coloured by the feature's activation, on the scale of its largest.")
        var offsets = [0]
        for row in rows { offsets.append(offsets.last! + row.count) }
        for (index, dashboard) in record.features.enumerated() {
            let values = try columns[index].scalars(as: Double.self)
            func context(_ example: FeatureDashboard.Example) -> String {
                let row = rows[example.text], range = Swift.max(0, example.position - 8)...Swift.min(row.count - 1, example.position + 3)
                let scores = range.map { values[offsets[example.text] + $0] }
                return String(format: "<tr><td>%.3f</td><td style=\"text-align:left\">%@</td></tr>", example.activation,
                              TokenAttribution.colouredTokens(range.map { tokens[row[$0]] }, scores, scale: dashboard.maxActivation))
            }
            page.heading(String(format: "Feature %d: fires on %.2f%% of tokens, largest activation %.3f", dashboard.feature, 100 * dashboard.frequency, dashboard.maxActivation))
            page.html("<table><tr><th>activation</th><th>top contexts</th></tr>" + dashboard.top.map(context).joined() + "</table>")
            var intervalRows = ""
            for (bin, samples) in dashboard.intervals.enumerated().reversed() where !samples.isEmpty {
                intervalRows += String(format: "<tr><th colspan=\"2\">%.3f – %.3f</th></tr>", dashboard.intervalEdges[bin], dashboard.intervalEdges[bin + 1])
                intervalRows += samples.map(context).joined()
            }
            page.html("<table><tr><th>activation</th><th>sampled across intervals</th></tr>" + intervalRows + "</table>")
            let edges = (0...10).map { dashboard.maxActivation * Double($0) / 10 }
            page.html(BarChart(title: "positive activations", labels: zip(edges, edges.dropFirst()).map { String(format: "%.2f – %.2f", $0, $1) },
                               values: dashboard.histogram.map(Double.init)).svg())
            if !dashboard.promoted.isEmpty {
                page.table(header: ["promotes", "logit effect", "suppresses", "logit effect"], rows: zip(dashboard.promoted, dashboard.suppressed).map { up, down in
                    [escapeHTML(tokens[up.token]), String(format: "%+.3f", up.effect), escapeHTML(tokens[down.token]), String(format: "%+.3f", down.effect)]
                })
            }
        }
        return page
    }
}
