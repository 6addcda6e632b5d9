import Datasets
import DictionaryLearning
import Foundation
import NN
import Report
import Superposition
import Torch

/// `glassbox sae split`: feature splitting across dictionary sizes (Bricken et al. 2023) — the
/// families each small dictionary's features become in the larger ones, on one page.
extension SAERun {
    /// A feature's most frequent token among its largest activations, and that token's share.
    public struct TokenLabel: Codable, Sendable {
        public var token: String
        public var share: Double
    }

    public struct SplitRecord: Codable, Sendable {
        public var dictionaries: [String]
        public var hookPoint: String?
        /// Store rows the activations were compared on.
        public var rows: Int
        public var splitting: FeatureSplitting
        /// Per dictionary, per feature (nil without a language model): labels from the first
        /// `labelTexts` validation tweets; an empty token for a feature that never fires there.
        public var labels: [[TokenLabel]]?
        public var labelTexts: Int
        /// The smallest dictionary's features drawn as family trees (most children first).
        public var families: [Int]
        public var seconds: Double
    }

    /// Loads the autoencoders (any order; sorted by size), compares them on the store's first
    /// `rows` rows, labels their features with tokens when `languageModel` is given, and writes
    /// split.json and split.html to `out`.
    public static func split(saes paths: [String], activations: String, languageModel: String?, rows: Int = 16_384, threshold: Double = 0.5,
                             families count: Int = 12, labelTexts: Int = 500, out: String) throws -> SplitRecord {
        let started = Date()
        try OutputFolder.prepare(out)
        let loaded = try paths.map { path in (path: path, file: try load(path)) }.sorted { $0.file.sae.configuration.features < $1.file.sae.configuration.features }
        let hooks = Set(loaded.compactMap(\.file.hookPoint))
        guard hooks.count <= 1 else { throw TorchError("the autoencoders were trained at different hook points (\(hooks.sorted().joined(separator: ", "))); splitting compares dictionaries of the same activations") }
        let saes = loaded.map(\.file.sae)
        let x = try storeRows(activations, limit: rows, for: saes)
        ProgressObserver.note("comparing \(saes.map { String($0.configuration.features) }.joined(separator: ", ")) features on \(x.shape[0]) activations")
        let splitting = try FeatureSplitting(decoders: saes.map(\.decoderWeight), activations: saes.map { sae in try noGrad { try sae.encode(x) } },
                                             threshold: threshold)
        var labels: [[TokenLabel]]?
        if let languageModel {
            guard let hook = hooks.first else { throw TorchError("the autoencoders do not record their hook point; token labels need it") }
            ProgressObserver.note("labelling features with tokens on \(labelTexts) validation tweets")
            let lm = try LanguageModelFile.load(languageModel)
            let texts = Array(try TweetCorpus.bundled(task: .threeClass).validation.texts.prefix(labelTexts))
            let collected = try lm.tokenActivations(texts, at: [hook])
            labels = try saes.map { sae in try tokenLabels(noGrad { try sae.encode(collected.activations[0]) }, tokens: collected.tokens, names: lm.tokens) }
        }
        let level = splitting.levels[0]
        let families = level.children.indices.filter { level.children[$0].count >= 2 }
            .sorted { (level.children[$0].count, -$0) > (level.children[$1].count, -$1) }.prefix(count)
        let record = SplitRecord(dictionaries: loaded.map(\.path), hookPoint: hooks.first, rows: x.shape[0], splitting: splitting, labels: labels,
                                 labelTexts: labelTexts, families: Array(families), seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "split.json"))
        try splitPage(record).write(to: path(out, "split.html"))
        return record
    }

    /// Per feature of activations f (positions, features): the most frequent token among its 20
    /// largest activations that are positive, and its share of them.
    static func tokenLabels(_ f: Tensor, tokens: Tensor, names: [String]) throws -> [TokenLabel] {
        try NeuronInterpretability.topTokens(f, tokens: tokens, topK: Swift.min(20, f.shape[0]), positiveOnly: true).map { mode in
            guard let mode else { return TokenLabel(token: "", share: 0) }
            return TokenLabel(token: mode.token < names.count ? names[mode.token] : "#\(mode.token)", share: mode.share)
        }
    }

    static func splitPage(_ record: SplitRecord) throws -> HTMLPage {
        let splitting = record.splitting
        var page = HTMLPage(title: "Feature splitting")
        page.paragraph("Dictionaries of \(splitting.sizes.map(String.init).joined(separator: ", ")) features\(record.hookPoint.map { " at \($0)" } ?? ""), compared on \(record.rows) stored activations. Each feature of a larger dictionary hangs under its nearest feature of the next smaller one by decoder cosine, when that cosine is at least \(splitting.threshold); below it, the feature is new at that size. The family correlation checks on activations that a family covers its parent: Pearson r between the parent's activation and the sum of its children's. Bricken et al. (2023) saw features split into families of finer features as the dictionary grew.")
        page.table(header: ["dictionary", "features of the smaller one kept", "split (≥ 2 children)", "children per kept feature", "median parent cosine", "new features", "median family correlation"],
                   rows: splitting.levels.enumerated().map { i, level in
            ["\(splitting.sizes[i]) → \(level.features)", percent(level.keptShare), percent(level.splitShare), String(format: "%.2f", level.meanChildren),
             String(format: "%.3f", level.medianParentCosine), percent(level.newShare(threshold: splitting.threshold)), String(format: "%.3f", level.medianFamilyCorrelation)]
        })
        func label(_ dictionary: Int, _ feature: Int) -> String {
            guard let labels = record.labels, !labels[dictionary][feature].token.isEmpty else { return "feature \(feature)" }
            let l = labels[dictionary][feature]
            return String(format: "feature %d: “%@” (%.0f%% of its top activations)", feature, escapeHTML(l.token), 100 * l.share)
        }
        func tree(_ dictionary: Int, _ feature: Int) -> String {
            guard dictionary < splitting.levels.count else { return "" }
            let children = splitting.levels[dictionary].children[feature]
            guard !children.isEmpty else { return "" }
            let items = children.map { child in
                String(format: "<li>cos %.2f · %@%@</li>", child.cosine, label(dictionary + 1, child.feature), tree(dictionary + 1, child.feature))
            }
            return "<ul>" + items.joined() + "</ul>"
        }
        page.heading("Families")
        if record.families.isEmpty {
            page.paragraph("No feature of the smallest dictionary has two children at this threshold.")
        }
        for feature in record.families {
            let r = splitting.levels[0].familyCorrelation[feature].map { String(format: "family correlation %.2f", $0) } ?? "family correlation undefined"
            page.html("<p><b>\(label(0, feature))</b> — \(r)</p>" + tree(0, feature))
        }
        if record.labels == nil { page.paragraph("Pass --model (the language model the activations came from) to label features with their tokens.") }
        return page
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", 100 * value) }
}
