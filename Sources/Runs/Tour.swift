import Datasets
import DictionaryLearning
import Foundation
import NN
import Superposition
import Adversarial
import Visualization
import Torch

/// `glassbox demo`: a five-minute tour of the product on the bundled data — the CNN and its report,
/// every attribution method with its scores, a randomisation sanity check, transparent baselines
/// against the CNN, a text classifier, toy models of superposition, the geometry of the CNN's hidden layer, feature visualisation and adversarial examples, and a self-explaining network — each page linked from index.html. The papers' full studies are `glassbox reproduce`.
public enum Tour {
    /// The tour's time budget after the build, on 2 cores.
    public static let targetSeconds = 300.0

    /// Runs the tour into `out`; returns the summary lines (each target met or not).
    public static func run(source: MNISTSource, training: CNNTrainingOptions, out: String, seed: UInt64, includeSENN: Bool = true) throws -> [String] {
        let started = Date()
        try OutputFolder.prepare(out)
        for page in ["senn.html", "sanity-check.html", "transparent/compare.html", "text/tokens.html", "superposition/superposition.html", "geometry/geometry.html",
                     "visualize/visualize.html", "attack/attack.html", "sae/dashboard.html"] {
            let path = (out as NSString).appendingPathComponent(page)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
        let (model, metrics, test) = try MNISTRun.train(source: source, options: training, seed: seed, out: out, resume: false)
        try AttributionPage.write(model: model, test: test, out: out, seed: seed)
        let cnnSeconds = Date().timeIntervalSince(started)
        ProgressObserver.note("sanity check: saliency, integrated gradients and Guided Backprop as the CNN's layers are randomised")
        var check = SanityCheckRun(methods: ["saliency", "integrated-gradients", "guided-backprop"], layer: nil, seed: seed, out: out)
        try ProgressObserver.quietly { try check.run(model, inputs: test.images.slice(dim: 0, start: 0, end: 4)) }
        ProgressObserver.note("transparent baselines: logistic regression, trees, nearest neighbours and a tree distilled from the CNN")
        var data = TransparentDataOptions()
        (data.mnist, data.seed) = (source, seed)
        _ = try ProgressObserver.quietly {
            try TradeoffStudy.run(data: data, network: (model, metrics.trainSeconds), senn: nil, inverseStrength: 0.05,
                                  distillationDepths: [1, 3, 6, 10, nil], out: (out as NSString).appendingPathComponent("transparent"))
        }
        let text = try textPart(out: (out as NSString).appendingPathComponent("text"), seed: seed)
        let superposition = try superpositionPart(out: (out as NSString).appendingPathComponent("superposition"), seed: seed)
        let geometry = try geometryPart(model, test: test.images, out: (out as NSString).appendingPathComponent("geometry"), seed: seed)
        let adversarial = try adversarialPart(model, test: test, out: out, seed: seed)
        let dictionary = try sparseAutoencoderPart(modelPath: path(out, "model.safetensors"), out: path(out, "sae"), seed: seed)
        let senn = includeSENN ? try SENNTour.write(cnn: model, cnnAccuracy: metrics.testAccuracy, data: source, out: out, seed: seed).summary : []
        let total = Date().timeIntervalSince(started)
        try MNISTRun.writeReport(model: model, metrics: metrics, test: test, out: out, totalSeconds: total)
        func verdict(_ met: Bool) -> String { met ? "met" : "NOT met" }
        return [
            String(format: "test accuracy %.2f%% (target ≥ 97%%): %@", 100 * metrics.testAccuracy, verdict(metrics.testAccuracy >= 0.97)),
            String(format: "CNN part %.1f s (target < 180 s on 2 cores): %@", cnnSeconds, verdict(cnnSeconds < 180)),
        ] + [text, superposition, geometry] + adversarial + [dictionary] + senn + [
            String(format: "tour %.0f s (target < %.0f s on 2 cores): %@", total, targetSeconds, verdict(total < targetSeconds)),
        ]
    }

    /// The toy-model sparsity sweep as the paper runs it (superposition/superposition.html); the
    /// summary line counts the published claims met.
    static func superpositionPart(out: String, seed: UInt64) throws -> String {
        ProgressObserver.note("superposition: 20 sparse features in 5 dimensions, linear against ReLU output")
        let record = try ProgressObserver.quietly {
            try SuperpositionRun.run(SparsitySweep(), phaseDiagram: nil, dimensionality: nil, privilegedBasis: nil, seed: seed, out: out)
        }
        let checks = SuperpositionRun.checks(record)
        let shared = record.sweep.filter(\.reluOutput).map { String($0.inSuperposition) }.joined(separator: ", ")
        let linear = record.sweep.filter { !$0.reluOutput }.map(\.inSuperposition).max() ?? 0
        return String(format: "superposition: features in superposition with the ReLU output %@ as sparsity rises, at most %d in the linear model; %d of %d published claims met (%.0f s)",
                      shared, linear, checks.filter(\.met).count, checks.count, record.seconds)
    }

    /// The Jacobian from the input to the CNN's hidden layer for 256 test digits, with the
    /// change-of-basis check at that layer (geometry/geometry.html).
    static func geometryPart(_ model: Module, test: Tensor, out: String, seed: UInt64) throws -> String {
        ProgressObserver.note("geometry: Jacobian spectra from the input to the CNN's hidden layer, and a change of basis there")
        let count = min(256, test.shape[0])
        model.eval()
        let record = try ProgressObserver.quietly {
            try GeometryRun.run(model, named: "the tour's CNN", isDemoCNN: true, inputs: test.slice(dim: 0, start: 0, end: count),
                                settings: GeometryRun.Settings(), seed: seed, out: out)
        }
        let rotation = record.invariance?.first { $0.kind == .orthogonal }
        return String(format: "geometry: input → hidden layer, entropy rank %.1f of 128, top-10 overlap between inputs %.2f (random %.2f); a rotation there changes the output by %.0e and the spectrum by %.0e, the neurons' inactive share %.2f → %.2f (%.0f s)",
                      record.pair.meanRanks.entropy, record.pair.agreement.inputSideOverlap, record.pair.agreement.inputSideChance,
                      rotation?.outputChange ?? .nan, rotation?.intoLayer.largestSingularValueChange ?? .nan,
                      rotation?.before.inactiveShare ?? .nan, rotation?.after.inactiveShare ?? .nan, record.seconds)
    }

    /// The first convolution's filters and three of the second convolution's channels visualised
    /// (visualize/visualize.html); FGSM and PGD against the CNN on 200 test digits as ε grows
    /// (attack/attack.html).
    static func adversarialPart(_ model: Module, test: LabelledImages, out: String, seed: UInt64) throws -> [String] {
        ProgressObserver.note("feature visualisation and adversarial examples: what the CNN's channels respond to, and how little it takes to fool it")
        model.eval()
        let started = Date()
        var settings = VisualizationRun.Settings()
        settings.steps = 128
        let visualization = try ProgressObserver.quietly {
            try VisualizationRun.run(model, named: "the tour's CNN", objectives: (0..<3).map { .channel(hookPoint: "3", channel: $0) },
                                     imageShape: MNIST.imageShape, preprocess: nil, settings: settings, seed: seed,
                                     out: (out as NSString).appendingPathComponent("visualize"))
        }
        var attack = AttackStudy.Settings()
        attack.epsilons = [0, 0.05, 0.1, 0.15, 0.2]
        attack.attack = AttackSettings(seed: seed)
        attack.attack.steps = 20
        let n = min(200, test.images.shape[0])
        let record = try ProgressObserver.quietly {
            try AttackStudy.run(AttackStudy.Subject(model, name: "the tour's CNN"), inputs: test.images[0..<n], labels: test.labels[0..<n],
                                labelsFrom: "the bundled MNIST test labels", transfer: nil, settings: attack, seed: seed,
                                out: (out as NSString).appendingPathComponent("attack"))
        }
        func accuracy(_ method: String, _ epsilon: Double) -> Double {
            record.curves.first { $0.method == method }?.points.first { $0.epsilon == epsilon }?.accuracy ?? .nan
        }
        return [String(format: "feature visualisation: three channels of the second convolution raised from %.2f to %.2f on average; adversarial examples: accuracy %.1f%% clean, %.1f%% under FGSM and %.1f%% under PGD (20 steps) at ε 0.1, %.1f%% and %.1f%% at ε 0.2 (%.0f s)",
                           visualization.trace.map { $0.first ?? 0 }.reduce(0, +) / 3, visualization.values.reduce(0, +) / 3,
                           100 * record.cleanAccuracy, 100 * accuracy("fgsm", 0.1), 100 * accuracy("pgd", 0.1), 100 * accuracy("fgsm", 0.2),
                           100 * accuracy("pgd", 0.2), Date().timeIntervalSince(started))]
    }

    /// A ×4 sparse autoencoder on the CNN's 128-unit hidden layer (after its ReLU, hook point 9),
    /// trained on the training digits' activations and measured on the test digits', with image
    /// dashboards of eight features (sae/dashboard.html).
    static func sparseAutoencoderPart(modelPath: String, out: String, seed: UInt64) throws -> String {
        ProgressObserver.note("sparse autoencoder: the CNN's hidden layer as a dictionary of 512 features; are they cleaner than its neurons?")
        let started = Date()
        let (train, test) = (path(out, "activations-train"), path(out, "activations-test"))
        var trainer = SparseAutoencoderTrainer()
        (trainer.steps, trainer.batchSize, trainer.l1Coefficient, trainer.seed) = (2000, 256, 2, seed)
        (trainer.warmupSteps, trainer.resampleAt, trainer.deadWindow) = (200, [500, 1000, 1500], 500)
        let (record, dashboard) = try ProgressObserver.quietly { () -> (SAERun.TrainRecord, SAERun.ImageDashboardRecord) in
            _ = try SAERun.collect(model: modelPath, hookPoint: "9", split: .train, part: .whole, limit: nil, out: train)
            _ = try SAERun.collect(model: modelPath, hookPoint: "9", split: .test, part: .whole, limit: nil, out: test)
            let record = try SAERun.train(activations: train, expansion: 4, topK: nil, trainer: trainer, evaluation: test, out: out)
            let (sae, _) = try SAERun.load(path(out, "sae.safetensors"))
            return (record, try SAERun.imageDashboard(sae: sae, hookPoint: "9", model: modelPath, features: nil, count: 8, seed: seed, out: out))
        }
        let metrics = record.metrics
        return String(format: "sparse autoencoder: ×4 on the CNN's hidden layer, L0 %.1f of 512, variance explained %.1f%%, dead %.1f%%; label purity of the top 20 digits: features %.2f, neurons %.2f (%.0f s)",
                      metrics.l0, 100 * metrics.varianceExplained, 100 * metrics.deadFraction, dashboard.featurePurity, dashboard.neuronPurity,
                      Date().timeIntervalSince(started))
    }

    /// Tweets whose explanations the tour shows: plain praise and complaint, a negation, and mixed feelings.
    static let tweets = ["I love how smooth and quiet the ride was", "@united lost my bag again, worst airline ever",
                         "the flight was not bad at all", "great crew but the delay was awful"]

    /// Two epochs of the BiLSTM + attention classifier on the binary tweets, and its token
    /// attributions for `tweets` (text/tokens.html); the summary line compares its macro-F1 with TF-IDF's.
    static func textPart(out: String, seed: UInt64) throws -> String {
        ProgressObserver.note("text: a BiLSTM with attention learns tweet sentiment; which words does it rest on?")
        var options = TextTrainingOptions()
        options.epochs = 2
        let record = try ProgressObserver.quietly { try TextRun.train(options, seed: seed, out: out) }
        let file = try TextModelFile.load((out as NSString).appendingPathComponent("model.safetensors"))
        _ = try ProgressObserver.quietly { try TokenAttribution.explain(tweets, file: file, targetClass: nil, out: out) }
        let reference = TweetCorpus.Task.binary.reference.macroF1
        return String(format: "text: BiLSTM + attention test macro-F1 %.3f (TF-IDF reference %.3f, target: at least it): %@",
                      record.test.macroF1, reference, record.test.reachesReference(of: .binary) ? "met" : "NOT met")
    }
}
