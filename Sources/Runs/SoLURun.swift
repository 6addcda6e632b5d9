import Datasets
import Foundation
import NN
import Report
import Superposition
import TextModels
import Torch

/// `glassbox solu`: Elhage et al. (2022, "Softmax Linear Units") on the tweets. The one-layer
/// transformer language model trained twice with the same size, data, steps and seed, once with
/// a GELU MLP and once with SoLU followed by a LayerNorm; the loss of each, how many MLP neurons
/// an automatic test calls monosemantic (`NeuronInterpretability`: explained on the validation
/// texts, simulated on the test texts), and what the LayerNorm after SoLU does to a neuron's top
/// examples.
public enum SoLURun {
    public struct Example: Codable, Sendable {
        public var neuron: Int
        public var token: String
        public var share: Double
        public var simulation: Double?
    }

    public struct ModelResult: Codable, Sendable {
        public var activation: String
        public var parameters: Int
        public var validationLoss: Double
        /// nil when an earlier run's model was reused.
        public var trainSeconds: Double?
        /// The MLP's output activations (what the next layer reads; after the LayerNorm for SoLU).
        public var neurons: NeuronInterpretability
        /// SoLU only: x·softmax(x) before its LayerNorm, and per neuron the share of its top
        /// examples that stay its top examples through the LayerNorm.
        public var beforeNorm: NeuronInterpretability?
        public var topExampleOverlap: [Double]?
        /// The neurons with the largest top-token shares, with their tokens.
        public var examples: [Example]
    }

    public struct Record: Codable, Sendable {
        public var models: [ModelResult]
        public var epochs: Int, width: Int, layer: Int
        public var explanationPositions: Int, heldOutPositions: Int
        public var seed: UInt64
        public var seconds: Double
    }

    /// Trains (or with `reuse`, reloads from `out`/gelu and `out`/solu) both models with `training`'s
    /// settings, then measures the last layer's MLP neurons. Writes solu.json and solu.html.
    public static func run(training: LanguageModelOptions, reuse: Bool, topK: Int = 20, seed: UInt64, out: String) throws -> Record {
        try training.validate()
        try OutputFolder.prepare(out)
        let started = Date()
        let corpus = try TweetCorpus.bundled(task: .threeClass).prefix(training.limit)
        var models: [ModelResult] = [], positions = (0, 0), shape = (epochs: training.epochs, width: training.width, layer: training.layers - 1)
        for activation in [TransformerBlock.Activation.gelu, .solu] {
            let folder = path(out, activation.rawValue)
            var options = training
            options.activation = activation
            var trainSeconds: Double?
            let trained: LanguageModelRecord
            if reuse, FileManager.default.fileExists(atPath: path(folder, "model.safetensors")) {
                trained = try JSONFile.read(LanguageModelRecord.self, from: path(folder, "metrics.json"))
                guard trained.activation == activation.rawValue else { throw TorchError("\(folder) holds a \(trained.activation) model, not \(activation.rawValue)") }
                ProgressObserver.note("reusing the \(activation.rawValue) model in \(folder)")
            } else {
                trained = try LanguageModelRun.train(options, seed: seed, out: folder)
                trainSeconds = trained.trainSeconds
            }
            let lm = try LanguageModelFile.load(path(folder, "model.safetensors"))
            let layer = lm.model.configuration.layers - 1
            shape = (trained.epochs.count, lm.model.configuration.width, layer)  // a reused model's own settings
            ProgressObserver.note("measuring the \(activation.rawValue) model's \(lm.model.configuration.mlpWidth) MLP neurons")
            let explanation = try mlpActivations(lm, texts: corpus.validation.texts, layer: layer)
            let heldOut = try mlpActivations(lm, texts: corpus.test.texts, layer: layer)
            positions = (explanation.tokens.shape[0], heldOut.tokens.shape[0])
            let k = Swift.min(topK, explanation.tokens.shape[0])
            let neurons = try NeuronInterpretability(explanation: (explanation.post, explanation.tokens), heldOut: (heldOut.post, heldOut.tokens),
                                                     vocabularySize: lm.tokens.count, topK: k)
            var beforeNorm: NeuronInterpretability?, overlap: [Double]?
            if activation == .solu {
                let explained = try Functional.solu(explanation.pre), held = try Functional.solu(heldOut.pre)
                beforeNorm = try NeuronInterpretability(explanation: (explained, explanation.tokens), heldOut: (held, heldOut.tokens),
                                                        vocabularySize: lm.tokens.count, topK: k)
                overlap = try NeuronInterpretability.topExampleOverlap(explained, explanation.post, topK: k)
            }
            let examples = neurons.neurons.indices.sorted { neurons.neurons[$0].topTokenShare > neurons.neurons[$1].topTokenShare }.prefix(8).map {
                Example(neuron: $0, token: lm.tokens[neurons.neurons[$0].topToken], share: neurons.neurons[$0].topTokenShare,
                        simulation: neurons.neurons[$0].simulation)
            }
            models.append(ModelResult(activation: activation.rawValue, parameters: trained.parameters, validationLoss: trained.validationLoss,
                                      trainSeconds: trainSeconds, neurons: neurons, beforeNorm: beforeNorm, topExampleOverlap: overlap, examples: examples))
        }
        let record = Record(models: models, epochs: shape.epochs, width: shape.width, layer: shape.layer,
                            explanationPositions: positions.0, heldOutPositions: positions.1, seed: seed, seconds: Date().timeIntervalSince(started))
        try JSONFile.write(record, to: path(out, "solu.json"))
        try page(record).write(to: path(out, "solu.html"))
        return record
    }

    /// One line per model (and SoLU before its LayerNorm), then the LayerNorm's effect.
    public static func summary(_ record: Record) -> [String] {
        var lines: [String] = []
        func line(_ name: String, _ loss: Double, _ n: NeuronInterpretability) -> String {
            String(format: "%@: validation loss %.4f, monosemantic neurons %.1f%% (top-token share ≥ %.1f), mean share %.3f, mean simulation r %.3f",
                   name, loss, 100 * n.monosemanticFraction, n.threshold, n.meanTopTokenShare, n.meanSimulation)
        }
        for m in record.models {
            lines.append(line(m.activation == "solu" ? "SoLU + LN" : m.activation.uppercased(), m.validationLoss, m.neurons))
            if let before = m.beforeNorm { lines.append(line("SoLU before its LN", m.validationLoss, before)) }
            if let overlap = m.topExampleOverlap {
                lines.append(String(format: "LayerNorm after SoLU: a neuron keeps a median %.0f%% of its top-%d examples", 100 * SENNAnalysis.median(overlap), m.neurons.topK))
            }
        }
        return lines
    }

    /// The MLP's pre-activations and outputs (positions, neurons) at every real token of `texts`, and those tokens.
    static func mlpActivations(_ lm: LanguageModelFile, texts: [String], layer: Int) throws -> (pre: Tensor, post: Tensor, tokens: Tensor) {
        let (activations, tokens) = try lm.tokenActivations(texts, at: ["blocks.\(layer).hook_mlp_pre", "blocks.\(layer).hook_mlp_post"])
        return (activations[0], activations[1], tokens)
    }

    static func page(_ record: Record) -> HTMLPage {
        var page = HTMLPage(title: "SoLU: does a softmax linear unit make neurons monosemantic?")
        page.paragraph("Elhage et al. (2022) replaced a transformer's MLP activation with SoLU(x) = x · softmax(x) followed by a LayerNorm, and found that blinded human raters judged far more neurons interpretable (about 35% → 60% in their models) at little cost in loss. Here the one-layer tweet language model is trained twice, the same width (\(record.width), MLP \(4 * record.width)), data, \(record.epochs) epochs and seed \(record.seed), once with GELU and once with SoLU + LN, and the MLP neurons of layer \(record.layer) are tested automatically instead of by raters. Top-token share: of a neuron's \(record.models.first?.neurons.topK ?? 0) largest activations on the validation texts (\(record.explanationPositions) token positions), the share on its most frequent token; a neuron counts as monosemantic when it is at least \(String(format: "%.1f", record.models.first?.neurons.threshold ?? 0.8)). Simulation: the neuron's activation on the test texts (\(record.heldOutPositions) positions) predicted from its mean activation per token on the validation texts, correlated with the truth (Pearson r) — a stand-in for Bills et al.'s (2023) language-model simulator that credits only what the current token explains.")
        var rows: [[String]] = []
        for m in record.models {
            func row(_ name: String, _ n: NeuronInterpretability) -> [String] {
                [name, String(format: "%.4f", m.validationLoss), String(format: "%.1f", Foundation.exp(m.validationLoss)),
                 String(format: "%.1f%%", 100 * n.monosemanticFraction), String(format: "%.3f", n.meanTopTokenShare), String(format: "%.3f", n.meanSimulation)]
            }
            rows.append(row(m.activation == "solu" ? "SoLU + LN (what the next layer reads)" : "GELU", m.neurons))
            if let before = m.beforeNorm { rows.append(row("SoLU before its LN", before)) }
        }
        page.table(header: ["MLP", "validation loss (nats)", "perplexity", "monosemantic neurons", "mean top-token share", "mean simulation r"], rows: rows)
        let edges = (0...10).map { 0.1 * Double($0) }
        for m in record.models {
            let shares = m.neurons.neurons.map(\.topTokenShare)
            page.html(AttentionRun.histogram(shares, edges: edges, title: "\(m.activation): neurons per top-token share", format: "%.1f").svg())
        }
        if let solu = record.models.first(where: { $0.topExampleOverlap != nil }), let overlap = solu.topExampleOverlap {
            page.heading("What the LayerNorm after SoLU does")
            page.paragraph(String(format: "Elhage et al. found that the LayerNorm lets small activations back in, so some features hide in neurons' weaker responses. Per SoLU neuron, the share of its top-%d validation positions before the LayerNorm that remain its top-%d after it: median %.2f, %.0f%% of neurons keep all of them, %.0f%% keep under half.",
                                  solu.neurons.topK, solu.neurons.topK, SENNAnalysis.median(overlap), 100 * Double(overlap.filter { $0 >= 1 }.count) / Double(overlap.count),
                                  100 * Double(overlap.filter { $0 < 0.5 }.count) / Double(overlap.count)))
            page.html(AttentionRun.histogram(overlap, edges: edges, title: "SoLU neurons per share of top examples kept through the LN", format: "%.1f").svg())
        }
        page.heading("The most token-specific neurons")
        page.table(header: ["MLP", "neuron", "token", "top-token share", "simulation r"], rows: record.models.flatMap { m in
            m.examples.map { [m.activation, "\($0.neuron)", escapeHTML($0.token), String(format: "%.2f", $0.share), $0.simulation.map { String(format: "%.2f", $0) } ?? "–"] }
        })
        page.paragraph(String(format: "%.0f s in all.", record.seconds))
        return page
    }
}
