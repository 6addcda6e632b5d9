import AttentionStudies
import Datasets
import Foundation
import NN
import Report
import TextModels
import Torch

/// `glassbox attention agreement` on transformers: the one-layer transformer classifier and the
/// MiniLM probe, every layer and head, against gradient × input, Integrated Gradients and
/// leave-one-out (`TransformerAttentionAgreement`).
extension AttentionRun {
    public struct TransformerAgreementRecord: Codable, Sendable {
        public var architecture: String
        public var result: TransformerAttentionAgreement.Result
        public var classNames: [String]
        public var seconds: Double
    }

    /// The JSON file of each transformer kind's agreement run.
    static func agreementFile(_ architecture: TextArchitecture) -> String { "agreement-\(architecture.rawValue).json" }

    /// A transformer classifier file as the transformer studies' subject, with its task's first
    /// `limit` test texts as token ids.
    static func transformerSubject(_ file: TextModelFile, limit: Int?, minilm: String?) throws -> (TransformerAttentionAgreement.Subject, [[Int]]) {
        if let limit, limit < 1 { throw TorchError("--limit must be at least 1") }
        let test = try TweetCorpus.bundled(task: file.task).test.texts
        let texts = limit.map { Array(test.prefix($0)) } ?? test
        switch file.architecture {
        case .transformer:
            return (.init(model: try file.network(), embeddingHookPoint: "embedding", patternHookPoints: ["block.self_attn.hook_pattern"],
                          unknownId: WordVocabulary.unknown, specialTokens: false), try file.sequences(texts))
        case .minilmProbe:
            let (probe, tokenizer) = try file.probe(minilm: minilm)
            return (.init(model: probe, embeddingHookPoint: "bert.embeddings.word_embeddings", patternHookPoints: probe.patternHookPoints,
                          unknownId: tokenizer.unknown, specialTokens: true),
                    SentenceEmbedding.sequences(texts, tokenizer: tokenizer, limit: probe.encoder.configuration.maxPositions))
        case .bilstmAttention:
            throw TorchError("this is a BiLSTM; its runs take the BiLSTM's own attention")
        }
    }

    public static func transformerAgreement(model modelPath: String, limit: Int?, steps: Int, minilm: String?, out: String) throws -> TransformerAgreementRecord {
        try OutputFolder.prepare(out)
        let file = try TextModelFile.load(modelPath)
        let (subject, sequences) = try transformerSubject(file, limit: limit, minilm: minilm)
        let started = Date()
        let result = try TransformerAttentionAgreement.measure(subject, texts: sequences, steps: steps) { done, total in
            ProgressObserver.report("agreement", done: done, of: total, unit: "texts")
        }
        let record = TransformerAgreementRecord(architecture: file.architecture.rawValue, result: result, classNames: file.task.classNames,
                                                seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, agreementFile(file.architecture)))
        try page(out: out)
        return record
    }

    /// Summary lines of an agreement run of any architecture (the BiLSTM's or a transformer's).
    public static func agreementLines(model modelPath: String, limit: Int?, steps: Int, minilm: String?, out: String) throws -> [String] {
        func line(_ name: String, _ s: AttentionAgreement.Summary) -> String {
            String(format: "%@: mean τ %.2f ± %.2f, significant (p < 0.05) in %.0f%% of %d texts", name, s.meanTau, s.standardDeviation,
                   100 * s.significantFraction, s.texts)
        }
        if try TextModelFile.load(modelPath).architecture == .bilstmAttention {
            let record = try agreement(model: modelPath, limit: limit, out: out)
            return [line("attention vs gradient", record.gradient), line("attention vs leave-one-out", record.leaveOneOut),
                    line("gradient vs leave-one-out", record.gradientVsLeaveOneOut),
                    "published (BiLSTM, attention vs gradient): SST 0.35, IMDB 0.44, AgNews 0.39, 20News 0.13",
                    String(format: "%.1f s; page: %@/attention.html", record.seconds, out)]
        }
        let record = try transformerAgreement(model: modelPath, limit: limit, steps: steps, minilm: minilm, out: out)
        let r = record.result
        let headline = r.sources.filter { if case .head = $0.source { return false } else { return true } }
        var lines = headline.flatMap { s in
            [line("\(s.source.name) vs gradient × input", s.gradient.summary), line("\(s.source.name) vs Integrated Gradients", s.integratedGradients.summary),
             line("\(s.source.name) vs leave-one-out", s.leaveOneOut.summary)]
        }
        if let best = r.sources.max(by: { $0.integratedGradients.summary.meanTau < $1.integratedGradients.summary.meanTau }) {
            lines.append(line("best single source, \(best.source.name), vs Integrated Gradients", best.integratedGradients.summary))
        }
        lines += [line("gradient × input vs leave-one-out", r.gradientVsLeaveOneOut.summary),
                  line("Integrated Gradients vs leave-one-out", r.integratedGradientsVsLeaveOneOut.summary),
                  String(format: "%.1f s; page: %@/attention.html", record.seconds, out)]
        return lines
    }

    static func transformerAgreementSection(_ record: TransformerAgreementRecord, into page: inout HTMLPage) {
        let r = record.result
        let minilm = record.architecture == TextArchitecture.minilmProbe.rawValue
        let subject = minilm ? "the MiniLM probe (all-MiniLM-L6-v2, frozen, with a logistic-regression head)" : "the one-layer transformer classifier"
        page.heading("Do \(minilm ? "MiniLM's" : "a transformer's") attention heads rank tokens as attributions do?")
        page.paragraph("Jain & Wallace's agreement test on \(subject), \(r.texts) test texts, \(r.layers) layer\(r.layers == 1 ? "" : "s") × \(r.heads) heads. With mean pooling every position counts equally, so a head's weight for a token is the attention the token receives, averaged over the text's query positions. \(r.layers > 1 ? "Attention rollout (Abnar & Zuidema 2020) multiplies the layers' head-mean patterns, each mixed half and half with the identity for the residual stream, and takes the same mean. " : "")The measures concern the predicted class's probability: |gradient × embedding| and |Integrated Gradients| (\(r.steps) Gauss–Legendre steps from every ranked token replaced by [UNK]) at the word embeddings, summed per token, and leave-one-out (the output's total variation distance when the token is deleted). \(minilm ? "[CLS] and [SEP] are not ranked. " : "")Cells give the mean Kendall τ-b over texts; red positive, blue negative.")
        for (title, pick) in [("vs gradient × input", \TransformerAttentionAgreement.SourceResult.gradient),
                              ("vs Integrated Gradients", \.integratedGradients), ("vs leave-one-out", \.leaveOneOut)] {
            page.html("<h3>attention \(title)</h3>" + tauGrid(r, pick))
        }
        func row(_ name: String, _ c: TransformerAttentionAgreement.Comparison) -> [String] {
            [name, String(format: "%.2f ± %.2f", c.summary.meanTau, c.summary.standardDeviation), String(format: "%.2f", c.summary.significantFraction),
             "\(c.summary.texts)"] + c.byClass.map { String(format: "%.2f", $0.meanTau) }
        }
        var rows: [[String]] = []
        for s in r.sources where s.source == .rollout || s.source == .layerMean(layer: r.layers - 1) {
            rows += [row("\(s.source.name) vs gradient × input", s.gradient), row("\(s.source.name) vs Integrated Gradients", s.integratedGradients),
                     row("\(s.source.name) vs leave-one-out", s.leaveOneOut)]
        }
        rows += [row("gradient × input vs leave-one-out", r.gradientVsLeaveOneOut), row("Integrated Gradients vs leave-one-out", r.integratedGradientsVsLeaveOneOut),
                 row("gradient × input vs Integrated Gradients", r.gradientVsIntegratedGradients)]
        page.table(header: ["comparison", "mean τ ± sd", "significant fraction", "texts"] + record.classNames.map { "mean τ, predicted \($0)" }, rows: rows)
        // The distributions behind the means: each layer's head mean and rollout, against Integrated Gradients.
        let edges = (0...20).map { -1 + 0.1 * Double($0) }
        for shown in r.sources {
            if case .head = shown.source { continue }
            page.html(BarChart(title: "\(shown.source.name) vs Integrated Gradients: texts per τ",
                               labels: zip(edges, edges.dropFirst()).map { String(format: "%.1f – %.1f", $0, $1) },
                               values: shown.integratedGradients.histogram.map(Double.init)).svg())
        }
        page.paragraph("Every head's τ distribution against each measure (20 bins from −1 to 1) is in the JSON file beside this page.")
        page.paragraph(String(format: "Published for comparison: BiLSTM attention vs gradients τ 0.13–0.44 by data set (Jain & Wallace 2019, Table 2); they did not test transformers. %d texts in %.1f s.", r.texts, record.seconds))
    }

    /// Mean τ per layer (rows) and head (columns), with the head mean and rollout, cells coloured by τ.
    static func tauGrid(_ r: TransformerAttentionAgreement.Result, _ pick: KeyPath<TransformerAttentionAgreement.SourceResult, TransformerAttentionAgreement.Comparison>) -> String {
        var tau: [TransformerAttentionAgreement.Source: Double] = [:]
        for s in r.sources { tau[s.source] = s[keyPath: pick].summary.meanTau }
        func cell(_ value: Double?) -> String {
            guard let value else { return "<td></td>" }
            let v = Swift.max(-1, Swift.min(1, value)), shade = Int(255 * (1 - Swift.abs(v)))
            let color = v >= 0 ? "rgb(255,\(shade),\(shade))" : "rgb(\(shade),\(shade),255)"
            return "<td style=\"background:\(color)\">\(String(format: "%.2f", value))</td>"
        }
        var html = "<table><tr><th>layer</th>" + (0..<r.heads).map { "<th>head \($0)</th>" }.joined() + "<th>mean of heads</th></tr>"
        for layer in 0..<r.layers {
            html += "<tr><th>\(layer)</th>" + (0..<r.heads).map { cell(tau[.head(layer: layer, head: $0)]) }.joined() + cell(tau[.layerMean(layer: layer)]) + "</tr>"
        }
        if let rollout = tau[.rollout] { html += "<tr><th>rollout</th><td colspan=\"\(r.heads)\"></td>" + cell(rollout) + "</tr>" }
        return html + "</table>"
    }
}
