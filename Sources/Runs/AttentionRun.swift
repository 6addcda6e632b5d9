import AttentionStudies
import Datasets
import Foundation
import NN
import Report
import TextModels
import Torch

/// `glassbox attention …`: Jain & Wallace's (2019) tests of attention as explanation on a trained
/// BiLSTM + attention classifier, over the test split of its task. Each experiment writes its JSON;
/// attention.html gathers whatever experiments the folder holds, beside the published figures.
public enum AttentionRun {
    public struct AgreementRecord: Codable, Sendable {
        public var texts: [AttentionAgreement.Text]
        public var gradient: AttentionAgreement.Summary
        public var leaveOneOut: AttentionAgreement.Summary
        public var gradientVsLeaveOneOut: AttentionAgreement.Summary
        /// Per predicted class: attention vs gradient.
        public var gradientByClass: [String: AttentionAgreement.Summary]
        public var seconds: Double
    }

    public struct PermutationRecord: Codable, Sendable {
        /// The model's architecture (nil in files from before transformers were measured: the BiLSTM).
        public var architecture: String?
        public var texts: [PermutedAttention.Text]
        public var permutations: Int
        public var seed: UInt64
        public var seconds: Double

        /// Texts whose largest attention weight is at least `peak`, and how many of them moved by less than 0.01 (TVD).
        public func unmoved(peak: Double) -> (texts: Int, unmoved: Int) {
            let peaked = texts.filter { $0.maxAttention >= peak }
            return (peaked.count, peaked.filter { $0.medianChange < 0.01 }.count)
        }
    }

    /// The classifier in `modelPath` and its task's test texts as ids (the first `limit`).
    public struct AdversaryRecord: Codable, Sendable {
        /// A text shown with its tokens coloured by the original and the adversarial attention.
        public struct Example: Codable, Sendable {
            public var tokens: [String]
            public var text: AdversarialAttention.Text
        }
        public var texts: [AdversarialAttention.Text]
        public var examples: [Example]
        public var candidates: Int, steps: Int, tolerance: Double
        public var seed: UInt64
        public var seconds: Double
    }

    public struct BaselineRecord: Codable, Sendable {
        public struct Model: Codable, Sendable {
            public var seed: UInt64
            public var uniformAttention: Bool
            public var test: TextScores
        }
        public var models: [Model]
        public var epochs: Int
        /// Per test text, the mean Jensen–Shannon divergence between the trained models' attention (pairs of seeds).
        public var seedDivergence: [Double]
        public var seconds: Double
    }

    public struct GuidedRecord: Codable, Sendable {
        public var results: [GuidedMLPStudy.Result]
        /// The BiLSTM's own test scores, for reference.
        public var bilstm: TextScores
        public var epochs: Int
        public var seed: UInt64
        public var seconds: Double
    }

    public struct ConsistentRecord: Codable, Sendable {
        public var points: [ConsistentAdversaryStudy.Point]
        public var epochs: Int
        public var seed: UInt64
        public var seconds: Double
    }

    static func subject(_ modelPath: String, limit: Int?) throws -> (BiLSTMAttentionClassifier, TextModelFile, Tensor) {
        let file = try TextModelFile.load(modelPath)
        guard file.architecture == .bilstmAttention, let model = try file.network() as? BiLSTMAttentionClassifier else {
            throw TorchError("\(modelPath) is a \(file.architecture.rawValue) model; the attention experiments need a BiLSTM with attention (glassbox text train --arch bilstm-attention)")
        }
        if let limit, limit < 1 { throw TorchError("--limit must be at least 1") }
        let test = try TweetCorpus.bundled(task: file.task).test.texts
        let texts = limit.map { Array(test.prefix($0)) } ?? test
        model.eval()
        return (model, file, try file.ids(texts))
    }

    public static func agreement(model modelPath: String, limit: Int?, out: String) throws -> AgreementRecord {
        try OutputFolder.prepare(out)
        let (model, file, ids) = try subject(modelPath, limit: limit)
        let started = Date()
        let texts = try AttentionAgreement.measure(model, ids: ids) { done, total in
            ProgressObserver.report("agreement", done: done, of: total, unit: "texts")
        }
        let classes = file.task.classNames
        let byClass = Dictionary(uniqueKeysWithValues: classes.enumerated().map { index, name in
            (name, AttentionAgreement.summary(texts.filter { $0.predicted == index }.map(\.gradient)))
        })
        let record = AgreementRecord(texts: texts, gradient: AttentionAgreement.summary(texts.map(\.gradient)),
                                     leaveOneOut: AttentionAgreement.summary(texts.map(\.leaveOneOut)),
                                     gradientVsLeaveOneOut: AttentionAgreement.summary(texts.map(\.gradientVsLeaveOneOut)),
                                     gradientByClass: byClass, seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "agreement.json"))
        try page(out: out)
        return record
    }

    /// The permutation test on a BiLSTM (its attention weights) or a transformer (every head's
    /// pattern, `TransformerPermutedAttention`); each architecture writes its own JSON file.
    public static func permutation(model modelPath: String, limit: Int?, permutations: Int, seed: UInt64, minilm: String? = nil,
                                   out: String) throws -> PermutationRecord {
        try OutputFolder.prepare(out)
        let file = try TextModelFile.load(modelPath)
        let started = Date()
        let progress = { (done: Int, total: Int) in ProgressObserver.report("permutations", done: done, of: total, unit: "texts") }
        let texts: [PermutedAttention.Text]
        if file.architecture == .bilstmAttention {
            let (model, _, ids) = try subject(modelPath, limit: limit)
            texts = try PermutedAttention.measure(model, ids: ids, permutations: permutations, seed: seed, progress: progress)
        } else {
            let (transformer, sequences) = try transformerSubject(file, limit: limit, minilm: minilm)
            texts = try TransformerPermutedAttention.measure(transformer, texts: sequences, permutations: permutations, seed: seed, progress: progress)
        }
        let record = PermutationRecord(architecture: file.architecture.rawValue, texts: texts, permutations: permutations, seed: seed,
                                       seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, permutationFile(file.architecture)))
        try page(out: out)
        return record
    }

    /// permutation.json for the BiLSTM, permutation-<architecture>.json for the others.
    static func permutationFile(_ architecture: TextArchitecture) -> String {
        architecture == .bilstmAttention ? "permutation.json" : "permutation-\(architecture.rawValue).json"
    }

    public static func adversary(model modelPath: String, limit: Int?, search: AdversarialAttention, seed: UInt64, out: String) throws -> AdversaryRecord {
        try OutputFolder.prepare(out)
        let (model, file, ids) = try subject(modelPath, limit: limit)
        let started = Date()
        let texts = try search.search(model, ids: ids, seed: seed) { done, total in
            ProgressObserver.report("adversarial attention", done: done, of: total, unit: "texts")
        }
        // The most divergent feasible adversaries of texts whose own attention is peaked (≥ 0.4), else of any text.
        let feasible = texts.indices.filter { texts[$0].feasible > 0 && texts[$0].length > 1 }
        let peaked = feasible.filter { texts[$0].maxAttention >= 0.4 }
        let chosen = (peaked.count >= 4 ? peaked : feasible).sorted { texts[$0].maxDivergence > texts[$1].maxDivergence }.prefix(4)
        let examples = try chosen.map { AdversaryRecord.Example(tokens: try file.tokens(ids.slice(dim: 0, start: $0, end: $0 + 1)), text: texts[$0]) }
        let record = AdversaryRecord(texts: texts, examples: examples, candidates: search.candidates, steps: search.steps, tolerance: search.tolerance,
                                     seed: seed, seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "adversary.json"))
        try page(out: out)
        return record
    }

    /// Wiegreffe & Pinter (2019): the BiLSTM trained with `seeds` seeds and with attention frozen
    /// to uniform weights (first seed), the test scores of each, and how far the seeds' attention
    /// distributions lie apart per test text (the yardstick for an adversary's divergence). The
    /// models go to `out`/baseline/.
    public static func baseline(options: TextTrainingOptions, seeds: [UInt64], limit: Int?, out: String) throws -> BaselineRecord {
        guard seeds.count >= 2 else { throw TorchError("the seed comparison needs at least 2 seeds") }
        try OutputFolder.prepare(out)
        let started = Date()
        var models: [BaselineRecord.Model] = [], attention: [Tensor] = []
        for (seed, uniform) in seeds.map({ ($0, false) }) + [(seeds[0], true)] {
            var o = options
            o.uniformAttention = uniform
            let folder = path(out, "baseline/\(uniform ? "uniform" : "seed-\(seed)")")
            ProgressObserver.note("training the BiLSTM with \(uniform ? "uniform" : "trained") attention, seed \(seed)")
            let record = try TextRun.train(o, seed: seed, out: folder)
            models.append(.init(seed: seed, uniformAttention: uniform, test: record.test))
            if !uniform {
                let (model, _, ids) = try subject(path(folder, "model.safetensors"), limit: limit)
                attention.append(try noGrad { try model.attentionWeights(ids) })
            }
        }
        var divergence = try Tensor.zeros([attention[0].shape[0]], dtype: .float64)
        var pairs = 0
        for a in 0..<attention.count { for b in (a + 1)..<attention.count {
            divergence = try divergence + Divergence.jensenShannon(attention[a], attention[b]).to(.float64)
            pairs += 1
        } }
        let record = BaselineRecord(models: models, epochs: options.epochs, seedDivergence: try (divergence / Double(pairs)).scalars(as: Double.self),
                                    seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "baseline.json"))
        try page(out: out)
        return record
    }

    public static func guided(model modelPath: String, epochs: Int, limit: Int?, seed: UInt64, out: String) throws -> GuidedRecord {
        try OutputFolder.prepare(out)
        let (model, file, ids) = try subject(modelPath, limit: limit)
        let started = Date()
        let results = try GuidedMLPStudy.run(model, file: file, epochs: epochs, limit: limit, seed: seed)
        let test = try TweetCorpus.bundled(task: file.task).prefix(limit).test
        let bilstm = TextScores(predictions: try TextRun.predict(model, ids), labels: test.labels, classes: model.configuration.classes)
        let record = GuidedRecord(results: results, bilstm: bilstm, epochs: epochs, seed: seed, seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "guided.json"))
        try page(out: out)
        return record
    }

    public static func consistent(model modelPath: String, lambdas: [Double], epochs: Int, limit: Int?, seed: UInt64, out: String) throws -> ConsistentRecord {
        try OutputFolder.prepare(out)
        let (model, file, _) = try subject(modelPath, limit: limit)
        let started = Date()
        let points = try ConsistentAdversaryStudy.run(base: model, file: file, lambdas: lambdas, epochs: epochs, limit: limit, seed: seed)
        let record = ConsistentRecord(points: points, epochs: epochs, seed: seed, seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "consistent.json"))
        try page(out: out)
        return record
    }

    /// The budget of `report` on 2 cores.
    public static let reportBudgetSeconds = 1800.0
    /// Test texts of the MiniLM agreement run in `report` without --limit: MiniLM took about
    /// 1.2 s per text on 2 cores (16 Integrated Gradients steps and leave-one-out through six
    /// layers), so the whole split (about 45 minutes) would not fit the budget beside the BiLSTM's
    /// experiments.
    public static let minilmReportTexts = 500

    /// Every experiment on the BiLSTM at `modelPath` with its defaults, and the agreement test on
    /// each of `transformers` (a one-layer transformer or the MiniLM probe), into one
    /// attention.html; one summary line each, the last against the time budget.
    public static func report(model modelPath: String, transformers: [String] = [], minilm: String? = nil, limit: Int?, seed: UInt64,
                              out: String) throws -> [String] {
        let started = Date()
        _ = try subject(modelPath, limit: 1)  // a wrong --model fails now, not after the transformers' runs
        let kinds = try transformers.map { try TextModelFile.load($0).architecture }
        if let index = kinds.firstIndex(of: .bilstmAttention) {
            throw TorchError("\(transformers[index]) is a BiLSTM; name it with --model (the other models are transformers for the agreement test)")
        }
        let transformerLines = try zip(transformers, kinds).map { other, kind -> String in
            let isMiniLM = kind == .minilmProbe
            let r = try transformerAgreement(model: other, limit: limit ?? (isMiniLM ? minilmReportTexts : nil), steps: 16, minilm: minilm, out: out)
            let sources = r.result.sources.filter { $0.source == .rollout || $0.source == .layerMean(layer: r.result.layers - 1) }
            return "agreement, \(r.architecture): " + sources.map { s in
                String(format: "%@ vs gradient × input τ %.2f, vs Integrated Gradients %.2f, vs leave-one-out %.2f", s.source.name,
                       s.gradient.summary.meanTau, s.integratedGradients.summary.meanTau, s.leaveOneOut.summary.meanTau)
            }.joined(separator: "; ") + String(format: " (%.0f s)", r.seconds)
        }
        let agreement = try self.agreement(model: modelPath, limit: limit, out: out)
        let permutation = try self.permutation(model: modelPath, limit: limit, permutations: 100, seed: seed, out: out)
        let adversary = try self.adversary(model: modelPath, limit: limit, search: AdversarialAttention(), seed: seed, out: out)
        var training = TextTrainingOptions()
        (training.epochs, training.limit, training.task) = (2, limit, try TextModelFile.load(modelPath).task)
        let baseline = try self.baseline(options: training, seeds: [seed, seed + 1, seed + 2], limit: limit, out: out)
        let guided = try self.guided(model: modelPath, epochs: 3, limit: limit, seed: seed, out: out)
        let consistent = try self.consistent(model: modelPath, lambdas: [0.01, 0.1, 1], epochs: 2, limit: limit, seed: seed, out: out)
        let (peaked, still) = permutation.unmoved(peak: 0.5)
        let median = { (values: [Double]) in SENNAnalysis.median(values) }
        let seconds = Date().timeIntervalSince(started)
        return transformerLines + [
            String(format: "agreement: attention vs gradient τ %.2f (significant in %.0f%%), vs leave-one-out %.2f", agreement.gradient.meanTau,
                   100 * agreement.gradient.significantFraction, agreement.leaveOneOut.meanTau),
            String(format: "permutation: %d of %d texts with peaked attention (≥ 0.5) moved < 0.01", still, peaked),
            String(format: "adversary: median largest JSD %.2f within TVD 0.01; %.0f%% of texts ≥ 0.5", median(adversary.texts.map(\.maxDivergence)),
                   100 * Double(adversary.texts.filter { $0.maxDivergence >= 0.5 }.count) / Double(max(adversary.texts.count, 1))),
            "baseline: macro-F1 " + baseline.models.map { String(format: "%@ %.3f", $0.uniformAttention ? "uniform" : "seed \($0.seed)", $0.test.macroF1) }
                .joined(separator: ", ") + String(format: "; seeds' attention JSD median %.2f", median(baseline.seedDivergence)),
            "guided MLP: macro-F1 " + guided.results.map { String(format: "%@ %.3f", $0.attention.rawValue, $0.test.macroF1) }.joined(separator: ", "),
            "model-consistent adversary: " + consistent.points.map { String(format: "λ %g: TVD %.3f, JSD %.2f", $0.lambda, $0.outputChange, $0.attentionDivergence) }
                .joined(separator: "; "),
            String(format: "all experiments %.0f s (budget %.0f s on 2 cores): %@", seconds, reportBudgetSeconds, seconds < reportBudgetSeconds ? "met" : "NOT met"),
        ]
    }

    /// Texts grouped by their largest attention weight, the way Jain & Wallace plot the permutation results.
    public static let attentionBins: [(label: String, lower: Double)] = [
        ("max attention < 0.25", 0), ("0.25 – 0.5", 0.25), ("0.5 – 0.75", 0.5), ("≥ 0.75", 0.75),
    ]

    /// attention.html from the experiments' JSON files in `out`.
    public static func page(out: String) throws {
        var page = HTMLPage(title: "Is attention explanation?")
        page.paragraph("Jain & Wallace (2019) asked whether a classifier's attention weights tell which tokens its prediction rests on. These experiments repeat theirs on the BiLSTM + additive-attention classifier trained on the bundled tweets (test split). The papers used SST, IMDB, AgNews and 20 Newsgroups, which are not available here: their figures stand beside ours for comparison, not as targets. Tweets are short (a median of about 17 words), so rank correlations rest on fewer tokens than on IMDB reviews.")
        if FileManager.default.fileExists(atPath: path(out, "agreement.json")) {
            agreementSection(try JSONFile.read(AgreementRecord.self, from: path(out, "agreement.json")), into: &page)
        }
        for architecture in [TextArchitecture.transformer, .minilmProbe] where FileManager.default.fileExists(atPath: path(out, agreementFile(architecture))) {
            transformerAgreementSection(try JSONFile.read(TransformerAgreementRecord.self, from: path(out, agreementFile(architecture))), into: &page)
        }
        for architecture in TextArchitecture.allCases where FileManager.default.fileExists(atPath: path(out, permutationFile(architecture))) {
            permutationSection(try JSONFile.read(PermutationRecord.self, from: path(out, permutationFile(architecture))), into: &page)
        }
        if FileManager.default.fileExists(atPath: path(out, "baseline.json")) {
            baselineSection(try JSONFile.read(BaselineRecord.self, from: path(out, "baseline.json")), into: &page)
        }
        if FileManager.default.fileExists(atPath: path(out, "guided.json")) {
            guidedSection(try JSONFile.read(GuidedRecord.self, from: path(out, "guided.json")), into: &page)
        }
        if FileManager.default.fileExists(atPath: path(out, "consistent.json")) {
            consistentSection(try JSONFile.read(ConsistentRecord.self, from: path(out, "consistent.json")), into: &page)
        }
        if FileManager.default.fileExists(atPath: path(out, "adversary.json")) {
            adversarySection(try JSONFile.read(AdversaryRecord.self, from: path(out, "adversary.json")), into: &page)
        }
        try page.write(to: path(out, "attention.html"))
    }

    static func agreementSection(_ record: AgreementRecord, into page: inout HTMLPage) {
        page.heading("Does attention rank tokens as gradients and leave-one-out do?")
        page.paragraph("Per text, Kendall's τ-b between the attention weights and |gradient × embedding| of the predicted class's probability (attention held fixed, as in the paper), and between attention and leave-one-out (the total variation distance of the output when the token is deleted); significant means p < 0.05 (SciPy's test). Texts of one token have no τ.")
        func row(_ name: String, _ s: AttentionAgreement.Summary, published: String) -> [String] {
            [name, String(format: "%.2f ± %.2f", s.meanTau, s.standardDeviation), String(format: "%.2f", s.significantFraction), "\(s.texts)", published]
        }
        var rows = [row("attention vs gradient", record.gradient, published: "SST 0.35 (0.49), IMDB 0.44 (1.00), AgNews 0.39 (0.86), 20News 0.13 (0.48)"),
                    row("attention vs leave-one-out", record.leaveOneOut, published: "lower than gradient vs leave-one-out on every set"),
                    row("gradient vs leave-one-out", record.gradientVsLeaveOneOut, published: "SST 0.66")]
        rows += record.gradientByClass.keys.sorted().map { row("attention vs gradient, predicted \($0)", record.gradientByClass[$0]!, published: "") }
        page.table(header: ["comparison", "mean τ ± sd", "significant fraction", "texts", "published (BiLSTM, mean τ (significant fraction))"], rows: rows)
        let taus = record.texts.compactMap { $0.gradient?.tau }
        page.html(histogram(taus, edges: (0...10).map { -1 + 0.2 * Double($0) }, title: "attention vs gradient: texts per τ", format: "%.1f").svg())
        page.paragraph(String(format: "%d texts in %.1f s.", record.texts.count, record.seconds))
    }

    static func permutationSection(_ record: PermutationRecord, into page: inout HTMLPage) {
        let kind = record.architecture.flatMap(TextArchitecture.init(rawValue:)) ?? .bilstmAttention
        if kind == .bilstmAttention {
            page.heading("Does the output move when attention is shuffled?")
            page.paragraph("For each text, the attention weights are shuffled over its tokens \(record.permutations) times, everything else kept; the median total variation distance between the original and the shuffled outputs is the text's change. Jain & Wallace found many texts with peaked attention whose output barely moved (their Fig. 3–4), i.e. where the attention did not matter.")
        } else {
            page.heading("Does the output move when \(kind == .minilmProbe ? "MiniLM's" : "the transformer's") attention is shuffled?")
            page.paragraph("For each text, \(record.permutations) copies in which every head's attention pattern at every layer has its key positions shuffled by one random order of the text's tokens (the same order for every query, head and layer of a copy): each query spreads the same weights over other tokens. The median total variation distance between the original and the shuffled outputs is the text's change; a text's largest attention is the largest weight a token receives in the last layer, averaged over queries and heads. Jain & Wallace tested recurrent models only.")
        }
        var rows: [[String]] = []
        let binned = bins(record.texts.map(\.maxAttention), edges: attentionBins.map(\.lower) + [1])
        for (bin, members) in zip(attentionBins, binned) {
            let changes = members.map { record.texts[$0].medianChange }
            guard !changes.isEmpty else { rows.append([bin.label, "0", "–", "–"]); continue }
            rows.append([bin.label, "\(changes.count)", String(format: "%.4f", SENNAnalysis.median(changes)),
                         String(format: "%.2f", Double(changes.filter { $0 < 0.01 }.count) / Double(changes.count))])
        }
        page.table(header: ["texts with", "texts", "median of the median change", "fraction that moved < 0.01"], rows: rows)
        page.html(histogram(record.texts.map(\.medianChange), edges: [0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1],
                            title: "texts per median output change (TVD)", format: "%.3g").svg())
        page.paragraph(String(format: "%d texts in %.1f s (seed %llu).", record.texts.count, record.seconds, record.seed))
    }

    static func baselineSection(_ record: BaselineRecord, into page: inout HTMLPage) {
        page.heading("Is the trained attention needed? Does it come out the same?")
        page.paragraph("Wiegreffe & Pinter (2019): the same BiLSTM trained with attention frozen to uniform weights over the tokens, and with trained attention from several seeds (\(record.epochs) epochs each). If uniform attention scores as well, the attention weights carried nothing the task needed; the divergence between seeds' attention is the variation an adversary's divergence should be measured against (they found seeds' attention at JSD well below the adversaries').")
        page.table(header: ["attention", "seed", "test accuracy", "test macro-F1"], rows: record.models.map { m in
            [m.uniformAttention ? "uniform (frozen)" : "trained", "\(m.seed)", String(format: "%.2f%%", 100 * m.test.accuracy), String(format: "%.3f", m.test.macroF1)]
        })
        let sorted = record.seedDivergence.sorted()
        page.paragraph(String(format: "JSD between seeds' attention, per test text (mean over pairs of seeds): median %.3f, 90th percentile %.3f, over %d texts; %.1f s.",
                              SENNAnalysis.median(sorted), sorted.isEmpty ? .nan : sorted[Int(0.9 * Double(sorted.count - 1))], sorted.count, record.seconds))
        page.html(histogram(record.seedDivergence, edges: (0...7).map { 0.1 * Double($0) }, title: "texts per JSD between seeds' attention", format: "%.1f").svg())
    }

    static func guidedSection(_ record: GuidedRecord, into page: inout HTMLPage) {
        page.heading("Does the attention help a model without context?")
        page.paragraph("Wiegreffe & Pinter (2019, §5): an MLP that sees each token alone pools the tokens with uniform weights, its own learned attention, or the BiLSTM's attention imposed and frozen (\(record.epochs) epochs each, seed \(record.seed)). They found the LSTM's imposed weights beat uniform and came near the MLP's own: the attention singles out tokens that matter by themselves.")
        page.table(header: ["pooling", "test accuracy", "test macro-F1"], rows: record.results.map { r in
            [r.attention == .imposed ? "BiLSTM's attention (frozen)" : r.attention == .own ? "its own attention" : "uniform",
             String(format: "%.2f%%", 100 * r.test.accuracy), String(format: "%.3f", r.test.macroF1)]
        } + [["(the BiLSTM itself)", String(format: "%.2f%%", 100 * record.bilstm.accuracy), String(format: "%.3f", record.bilstm.macroF1)]])
        page.paragraph(String(format: "%.1f s.", record.seconds))
    }

    static func consistentSection(_ record: ConsistentRecord, into page: inout HTMLPage) {
        page.heading("A whole model with other attention and the same predictions?")
        page.paragraph("Wiegreffe & Pinter (2019, §6): a new BiLSTM trained to reproduce the base model's outputs (total variation distance) while its attention moves away from the base model's (Jensen–Shannon divergence), loss = TVD − λ·JSD, \(record.epochs) epochs per λ. Unlike the per-text adversary, one model must hold for every text. They found the attention can move substantially at a small cost in TVD, less far than per-text adversaries.")
        page.table(header: ["λ", "mean test TVD to the base output", "mean test JSD to the base attention", "same prediction"], rows: record.points.map { p in
            [String(format: "%g", p.lambda), String(format: "%.4f", p.outputChange), String(format: "%.3f", p.attentionDivergence), String(format: "%.1f%%", 100 * p.agreement)]
        })
        var chart = LineChart(title: "the adversary's trade-off, by λ", xLabel: "λ", series: [
            .init(name: "mean TVD (output)", values: record.points.map(\.outputChange), color: "#d62728"),
            .init(name: "mean JSD (attention)", values: record.points.map(\.attentionDivergence), color: "#1f77b4"),
        ])
        chart.xTicks = record.points.map { String(format: "%g", $0.lambda) }
        page.html(chart.svg())
        page.paragraph(String(format: "%.1f s (seed %llu).", record.seconds, record.seed))
    }

    static func adversarySection(_ record: AdversaryRecord, into page: inout HTMLPage) {
        page.heading("Is there other attention with the same output?")
        page.paragraph(String(format: "For each text, %d attention distributions pushed as far as possible from the model's own (Jensen–Shannon divergence, at most log 2 ≈ 0.69, plus their divergence from each other) while the output's total variation distance stays within %g (a penalty, %d Adam steps on free logits). A text's figure is its most divergent candidate within the tolerance. Jain & Wallace (their Fig. 5–6) found such adversaries at JSD near the maximum for most texts, also where attention was peaked.", record.candidates, record.tolerance, record.steps))
        var rows: [[String]] = []
        let binned = bins(record.texts.map(\.maxAttention), edges: attentionBins.map(\.lower) + [1])
        for (bin, members) in zip(attentionBins, binned) {
            let divergences = members.map { record.texts[$0].maxDivergence }
            guard !divergences.isEmpty else { rows.append([bin.label, "0", "–", "–", "–"]); continue }
            rows.append([bin.label, "\(divergences.count)", String(format: "%.3f", SENNAnalysis.median(divergences)),
                         String(format: "%.2f", Double(divergences.filter { $0 >= 0.5 }.count) / Double(divergences.count)),
                         String(format: "%.2f", Double(members.filter { record.texts[$0].feasible == 0 }.count) / Double(members.count))])
        }
        page.table(header: ["texts with", "texts", "median max JSD", "fraction with JSD ≥ 0.5", "fraction with no candidate within the tolerance"], rows: rows)
        page.html(histogram(record.texts.map(\.maxDivergence), edges: (0...7).map { 0.1 * Double($0) },
                            title: "texts per largest JSD of an adversarial attention", format: "%.1f").svg())
        if !record.examples.isEmpty {
            page.paragraph("Examples: the most divergent adversaries among texts whose own attention is peaked; each row coloured on one scale (the larger of the two rows' largest weight).")
            let rows = record.examples.map { example -> String in
                let t = example.text, scale = max(t.original.max() ?? 0, t.adversarial.max() ?? 0)
                return String(format: "<tr><th style=\"text-align:left\">original</th><td style=\"text-align:left\">%@</td></tr><tr><th style=\"text-align:left\">adversarial (JSD %.2f, TVD %.4f)</th><td style=\"text-align:left\">%@</td></tr>",
                              TokenAttribution.colouredTokens(example.tokens, t.original, scale: scale), t.maxDivergence, t.outputChange ?? 0,
                              TokenAttribution.colouredTokens(example.tokens, t.adversarial, scale: scale))
            }
            page.html("<table>" + rows.joined() + "</table>")
        }
        page.paragraph(String(format: "%d texts in %.1f s (seed %llu).", record.texts.count, record.seconds, record.seed))
    }

    /// For bins between consecutive `edges` (the last one closed), the indices of the values in each.
    static func bins(_ values: [Double], edges: [Double]) -> [[Int]] {
        (0..<(edges.count - 1)).map { bin in
            values.indices.filter { values[$0] >= edges[bin] && (values[$0] < edges[bin + 1] || (bin == edges.count - 2 && values[$0] <= edges[bin + 1])) }
        }
    }

    /// Counts of `values` per bin as a bar chart.
    static func histogram(_ values: [Double], edges: [Double], title: String, format: String) -> BarChart {
        BarChart(title: title, labels: zip(edges, edges.dropFirst()).map { String(format: format, $0) + " – " + String(format: format, $1) },
                 values: bins(values, edges: edges).map { Double($0.count) })
    }
}
