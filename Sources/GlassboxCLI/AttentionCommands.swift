import ArgumentParser
import Foundation
import AttentionStudies
import Runs

struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Is attention explanation? Jain & Wallace's (2019) and Wiegreffe & Pinter's (2019) experiments on text classifiers.",
        discussion: paragraphs("""
        Train the subject first: glassbox text train --arch bilstm-attention --out runs/text. Each experiment runs over the
        test split of the model's task, writes its JSON to --out, and rewrites attention.html with every experiment the
        folder holds. `agreement` and `permute` also take the one-layer transformer (--arch transformer) and the MiniLM
        probe (--arch minilm-probe): every layer and head, with attention rollout.
        """),
        subcommands: [AttentionAgreementCommand.self, AttentionPermuteCommand.self, AttentionAdversaryCommand.self, AttentionBaselineCommand.self, AttentionGuidedCommand.self, AttentionConsistentCommand.self, AttentionReportCommand.self]
    )
}

/// Options every attention experiment takes.
struct AttentionOptions: ParsableArguments {
    @Option(help: "A BiLSTM + attention model from `glassbox text train --arch bilstm-attention` (agreement: also a transformer or the MiniLM probe).") var model: String
    @Option(parsing: .unconditional, help: "Only the first N test texts (quick runs).") var limit: Int?
    @Option(help: "Output folder.") var out = "runs/attention"

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }
}

struct AttentionAgreementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Kendall τ between attention and gradient / leave-one-out importance, per test text.",
        discussion: paragraphs("""
        A BiLSTM: its attention vs |gradient × embedding| and leave-one-out (agreement.json). A one-layer transformer or the
        MiniLM probe: every layer's and head's attention (received, averaged over queries), each layer's head mean and
        attention rollout vs gradient × input, Integrated Gradients and leave-one-out (agreement-transformer.json or
        agreement-minilm-probe.json). MiniLM takes about 1.2 s per text on 2 cores (the whole binary test split: about 45 minutes); --limit for less.
        """)
    )

    @OptionGroup var options: AttentionOptions
    @Option(help: "Integrated Gradients' steps (transformers).") var steps = 16
    @Option(help: "A folder with all-MiniLM-L6-v2's files, for the MiniLM probe (else $GLASSBOX_MINILM or the cache).") var minilm: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let lines = try showingProgress {
            try AttentionRun.agreementLines(model: options.model, limit: options.limit, steps: steps, minilm: minilm, out: options.out)
        }
        for line in lines { print(line) }
    }
}

struct AttentionPermuteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permute",
        abstract: "Shuffle each text's attention weights many times: the median change of the output against the largest weight.",
        discussion: paragraphs("""
        A BiLSTM: its attention weights over the tokens (permutation.json). A transformer or the MiniLM probe: every head's
        pattern at every layer with its key positions shuffled, one order per copy (permutation-<arch>.json). Rewrites attention.html.
        """)
    )

    @OptionGroup var options: AttentionOptions
    @Option(parsing: .unconditional, help: "Shuffles per text (Jain & Wallace use 100).") var permutations = 100
    @OptionGroup var common: CommonOptions

    @Option(help: "A folder with all-MiniLM-L6-v2's files, for the MiniLM probe (else $GLASSBOX_MINILM or the cache).") var minilm: String?

    func validate() throws {
        if !(1...10_000).contains(permutations) { throw ValidationError("--permutations must be between 1 and 10000") }
    }

    func run() throws {
        try common.apply()
        let record = try showingProgress {
            try AttentionRun.permutation(model: options.model, limit: options.limit, permutations: permutations, seed: common.seed, minilm: minilm,
                                         out: options.out)
        }
        let (peaked, still) = record.unmoved(peak: 0.5)
        print(String(format: "%d texts; of the %d whose largest attention weight is ≥ 0.5, %d (%.0f%%) moved by less than 0.01 (TVD) when it was shuffled",
                     record.texts.count, peaked, still, 100 * Double(still) / Double(Swift.max(peaked, 1))))
        let changes = record.texts.map(\.medianChange)
        print(String(format: "median change over all texts %.4f; %.0f%% of texts moved by less than 0.01", SENNAnalysis.median(changes),
                     100 * Double(changes.filter { $0 < 0.01 }.count) / Double(Swift.max(changes.count, 1))))
        print(String(format: "%.1f s; page: %@/attention.html", record.seconds, options.out))
    }
}

struct AttentionAdversaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adversary",
        abstract: "Search each text for attention as different as possible from the model's whose output stays the same.",
        discussion: "Jain & Wallace (2019) §4.3, with the constraint as a penalty. Writes adversary.json and attention.html."
    )

    @OptionGroup var options: AttentionOptions
    @Option(parsing: .unconditional, help: "Adversarial distributions per text.") var candidates = 4
    @Option(parsing: .unconditional, help: "Adam steps.") var steps = 200
    @Option(help: "Largest allowed change of the output (total variation distance).") var tolerance = 0.01
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !(1...64).contains(candidates) { throw ValidationError("--candidates must be between 1 and 64") }
        if !(1...100_000).contains(steps) { throw ValidationError("--steps must be between 1 and 100000") }
        if !(tolerance > 0 && tolerance < 1) { throw ValidationError("--tolerance must be in (0, 1)") }
    }

    func run() throws {
        try common.apply()
        var search = AdversarialAttention()
        (search.candidates, search.steps, search.tolerance) = (candidates, steps, tolerance)
        let record = try showingProgress {
            try AttentionRun.adversary(model: options.model, limit: options.limit, search: search, seed: common.seed, out: options.out)
        }
        let far = record.texts.filter { $0.maxDivergence >= 0.5 }.count
        let none = record.texts.filter { $0.feasible == 0 }.count
        print(String(format: "%d texts; %d (%.0f%%) have attention at JSD ≥ 0.5 from the model's with the output within %g; %d have none within it",
                     record.texts.count, far, 100 * Double(far) / Double(Swift.max(record.texts.count, 1)), tolerance, none))
        print(String(format: "%.1f s; page: %@/attention.html", record.seconds, options.out))
    }
}

struct AttentionBaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Train the BiLSTM with uniform attention and with trained attention from several seeds: scores and seed-to-seed divergence.",
        discussion: "Wiegreffe & Pinter (2019). Trains (seeds + 1) models into --out/baseline/ on the binary tweets; writes baseline.json and attention.html.",
        aliases: ["uniform"]
    )

    @Option(help: "Seeds of the trained-attention models (comma-separated, at least 2); the uniform model uses the first.") var seeds = "0,1,2"
    @Option(parsing: .unconditional, help: "Training epochs per model.") var epochs = 2
    @Option(parsing: .unconditional, help: "Only the first N texts of each split (a quick run).") var limit: Int?
    @Option(help: "Output folder.") var out = "runs/attention"
    @OptionGroup var common: CommonOptions

    func parsedSeeds() throws -> [UInt64] {
        let values = seeds.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count >= 2, values.allSatisfy({ $0 != nil }), Set(values).count == values.count else {
            throw ValidationError("--seeds takes at least 2 different comma-separated seeds, got '\(seeds)'")
        }
        return values.map { $0! }
    }

    func validate() throws {
        _ = try parsedSeeds()
        if !(1...1000).contains(epochs) { throw ValidationError("--epochs must be between 1 and 1000") }
        if let limit, limit < 10 { throw ValidationError("--limit needs at least 10 texts") }
    }

    func run() throws {
        try common.apply()
        var options = TextTrainingOptions()
        (options.epochs, options.limit) = (epochs, limit)
        let record = try showingProgress { try AttentionRun.baseline(options: options, seeds: try parsedSeeds(), limit: limit, out: out) }
        for model in record.models {
            print(String(format: "%@ attention, seed %llu: test macro-F1 %.3f, accuracy %.2f%%", model.uniformAttention ? "uniform" : "trained",
                         model.seed, model.test.macroF1, 100 * model.test.accuracy))
        }
        print(String(format: "JSD between seeds' attention per text: median %.3f over %d test texts", SENNAnalysis.median(record.seedDivergence),
                     record.seedDivergence.count))
        print(String(format: "%.1f s; page: %@/attention.html", record.seconds, out))
    }
}

struct AttentionGuidedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guided",
        abstract: "Train a context-free token MLP with uniform, its own, or the BiLSTM's frozen attention: does the attention help it?",
        discussion: "Wiegreffe & Pinter (2019), §5. Writes guided.json and attention.html.",
        aliases: ["frozen"]
    )

    @OptionGroup var options: AttentionOptions
    @Option(parsing: .unconditional, help: "Training epochs per MLP.") var epochs = 3
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !(1...1000).contains(epochs) { throw ValidationError("--epochs must be between 1 and 1000") }
        if let limit = options.limit, limit < 10 { throw ValidationError("--limit needs at least 10 texts") }
    }

    func run() throws {
        try common.apply()
        let record = try showingProgress {
            try AttentionRun.guided(model: options.model, epochs: epochs, limit: options.limit, seed: common.seed, out: options.out)
        }
        for result in record.results {
            print(String(format: "token MLP, %@ attention: test macro-F1 %.3f, accuracy %.2f%%", result.attention.rawValue, result.test.macroF1, 100 * result.test.accuracy))
        }
        print(String(format: "the BiLSTM itself: macro-F1 %.3f; %.1f s; page: %@/attention.html", record.bilstm.macroF1, record.seconds, options.out))
    }
}

struct AttentionConsistentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistent",
        abstract: "Train model-consistent adversaries: the base model's predictions with attention pushed away, for several λ.",
        discussion: "Wiegreffe & Pinter (2019), §6: loss = TVD(outputs) − λ·JSD(attention). Writes consistent.json and attention.html.",
        aliases: ["consistent-adversary"]
    )

    @OptionGroup var options: AttentionOptions
    @Option(help: "Weights λ of the attention divergence (comma-separated, each > 0).") var lambdas = "0.01,0.1,1"
    @Option(parsing: .unconditional, help: "Training epochs per adversary.") var epochs = 2
    @OptionGroup var common: CommonOptions

    func parsedLambdas() throws -> [Double] {
        let values = lambdas.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? -1) > 0 && $0!.isFinite }) else {
            throw ValidationError("--lambdas takes comma-separated positive numbers, got '\(lambdas)'")
        }
        return values.map { $0! }
    }

    func validate() throws {
        _ = try parsedLambdas()
        if !(1...1000).contains(epochs) { throw ValidationError("--epochs must be between 1 and 1000") }
        if let limit = options.limit, limit < 10 { throw ValidationError("--limit needs at least 10 texts") }
    }

    func run() throws {
        try common.apply()
        let record = try showingProgress {
            try AttentionRun.consistent(model: options.model, lambdas: try parsedLambdas(), epochs: epochs, limit: options.limit,
                                        seed: common.seed, out: options.out)
        }
        for p in record.points {
            print(String(format: "λ = %g: mean TVD %.4f to the base output, mean JSD %.3f to its attention, %.1f%% same predictions",
                         p.lambda, p.outputChange, p.attentionDivergence, 100 * p.agreement))
        }
        print(String(format: "%.1f s; page: %@/attention.html", record.seconds, options.out))
    }
}

struct AttentionReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Every attention experiment with its defaults, into one attention.html (the BiLSTM's: about 8 minutes on 2 cores; a MiniLM --transformer adds about 10).",
        discussion: paragraphs("""
        agreement on each --transformer model first (a MiniLM probe on the first \(AttentionRun.minilmReportTexts) test texts
        unless --limit says otherwise), then on the BiLSTM: agreement, permute, adversary, baseline (3 seeds and uniform
        attention), guided and consistent, in that order.
        """)
    )

    @OptionGroup var options: AttentionOptions
    @Option(help: "Also run the agreement test on this one-layer transformer or MiniLM probe (repeatable).") var transformer: [String] = []
    @Option(help: "A folder with all-MiniLM-L6-v2's files, for a MiniLM probe (else $GLASSBOX_MINILM or the cache).") var minilm: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let lines = try showingProgress {
            try AttentionRun.report(model: options.model, transformers: transformer, minilm: minilm, limit: options.limit, seed: common.seed, out: options.out)
        }
        for line in lines { print(line) }
        print("page: \(options.out)/attention.html")
    }
}
