import Adversarial
import Datasets
import Foundation
import NN
import Report
import Torch

/// Where MNIST comes from: a folder of the full IDX files, or the bundled 5,000-digit subset.
public struct MNISTSource: Sendable {
    /// A folder with train-images-idx3-ubyte[.gz] etc.; nil, "mnist" or "bundled" mean the bundled subset.
    public var folder: String?

    public init(folder: String? = nil) {
        self.folder = folder
    }

    public static let bundled = MNISTSource()

    public func load() throws -> (train: LabelledImages, test: LabelledImages, description: String) {
        if let folder, !(["mnist", "bundled"].contains(folder) && !FileManager.default.fileExists(atPath: folder)) {
            let (train, test) = try MNIST.load(directory: folder)
            return (train, test, "MNIST from \(folder) (\(train.count) train / \(test.count) test)")
        }
        let (train, test) = try MNIST.bundled()
        return (train, test, "bundled MNIST subset (\(train.count) train / \(test.count) test, 400/100 per digit)")
    }

    /// The test split alone: commands that only evaluate never read the training files.
    public func loadTest() throws -> (test: LabelledImages, description: String) {
        if let folder, !(["mnist", "bundled"].contains(folder) && !FileManager.default.fileExists(atPath: folder)) {
            let test = try MNIST.split(directory: folder, prefix: "t10k")
            return (test, "MNIST from \(folder) (test split, \(test.count) digits)")
        }
        let loaded = try load()
        return (loaded.test, loaded.description)
    }
}

/// Training settings of the MNIST CNN; the defaults are the demo's.
public struct CNNTrainingOptions: Sendable {
    public var epochs = 15
    public var batchSize = 64
    /// Adam's learning rate.
    public var learningRate = 2e-3
    /// Learning-rate factor applied after each epoch.
    public var learningRateDecay = 0.85
    /// Random shift augmentation in pixels (0 turns it off).
    public var shift = 2
    /// Train on adversarial versions of every batch instead (nil: standard training).
    public var adversarial: AdversarialTraining?

    public init() {}

    public func validate() throws {
        try Limits.check(epochs, "--epochs", in: 1...10_000)
        try Limits.check(batchSize, "--batch-size", in: 1...1_000_000)
        guard learningRate > 0, learningRate.isFinite else { throw TorchError("--learning-rate must be positive") }
        guard learningRateDecay > 0, learningRateDecay <= 1 else { throw TorchError("--learning-rate-decay must be in (0, 1]") }
        guard (0...8).contains(shift) else { throw TorchError("--shift must be between 0 and 8") }
        try adversarial?.validate()
    }
}

/// What evaluating a classifier on a labelled set gives.
public struct ClassifierEvaluation {
    public var accuracy: Double
    public var loss: Double
    public var confusion: ConfusionMatrix
    public var predictions: [Int]

    public init(_ classify: (Tensor) throws -> Tensor, on set: LabelledImages) throws {
        try self.init(classify, inputs: set.images, labels: set.labels, classes: MNIST.classes)
    }

    /// One batched pass per 500 examples.
    public init(_ classify: (Tensor) throws -> Tensor, inputs: Tensor, labels: Tensor, classes: Int) throws {
        let count = labels.count
        var logits: [Tensor] = []
        try noGrad {
            for start in stride(from: 0, to: count, by: 500) {
                logits.append(try classify(inputs.slice(dim: 0, start: start, end: min(count, start + 500))))
            }
        }
        let all = try Tensor.cat(logits)
        guard all.rank == 2, all.shape[0] == count, all.shape[1] == classes else {
            throw TorchError("the model returned logits of shape \(all.shape), expected (\(count), \(classes))")
        }
        let predicted = try all.argmax(dim: 1)
        loss = try Functional.crossEntropy(all, target: labels).item()
        confusion = try ConfusionMatrix(predictions: predicted, labels: labels, classes: classes)
        accuracy = confusion.accuracy
        predictions = try predicted.scalars(as: Int64.self).map(Int.init)
    }
}

extension ClassifierEvaluation {
    /// A model file on the test split it belongs to: a tabular SENN on its table's, every other model on MNIST's.
    /// Returns the data's description, and class names when they are not the digits.
    public static func testSplit(of model: LoadedModel, mnist: MNISTSource) throws
        -> (evaluation: ClassifierEvaluation, data: String, classNames: [String]?) {
        if let file = model.senn, file.dataset != .mnist {
            let table = try SENNData.load(file.dataset, mnist: mnist)
            let evaluation = try ClassifierEvaluation({ try file.model($0) }, inputs: table.testInputs, labels: table.testLabels,
                                                      classes: file.classNames.count)
            return (evaluation, table.description, file.classNames)
        }
        let (test, description) = try mnist.loadTest()
        return (try ClassifierEvaluation({ try model($0) }, on: test), description, nil)
    }

    /// The confusion matrix as lines of text (rows: true class, columns: predicted).
    public func confusionLines(classNames: [String]?) -> [String] {
        guard let classNames else {
            return ["confusion matrix (rows: true class, columns: predicted):"]
                + confusion.counts.enumerated().map { "\($0.offset): " + $0.element.map { String(format: "%4d", $0) }.joined() }
        }
        let width = classNames.map(\.count).max() ?? 0
        return ["confusion matrix (rows: true class, columns: predicted; \(classNames.joined(separator: ", "))):"]
            + confusion.counts.enumerated().map { truth, row in
                classNames[truth].padding(toLength: width, withPad: " ", startingAt: 0) + ": " + row.map { String(format: "%5d", $0) }.joined()
            }
    }
}

/// What `evaluate --out` writes.
public struct EvaluationRecord: Codable, Sendable {
    public var data: String
    public var accuracy: Double
    public var loss: Double
    public var confusionMatrix: [[Int]]

    public init(data: String, evaluation: ClassifierEvaluation) {
        (self.data, accuracy, loss, confusionMatrix) = (data, evaluation.accuracy, evaluation.loss, evaluation.confusion.counts)
    }
}

public struct EpochMetrics: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
}

public struct RunMetrics: Codable, Sendable {
    public var data: String
    public var seed: UInt64
    public var threads: Int
    public var libtorch: String
    public var parameters: Int
    public var epochs: [EpochMetrics]
    public var testAccuracy: Double
    public var testLoss: Double
    public var trainSeconds: Double
    public var confusionMatrix: [[Int]]
}

public enum MNISTRun {
    /// Trains the demo CNN, writing a checkpoint every epoch and the final model to `out`; each
    /// epoch's numbers go to the progress observer as a note.
    public static func train(source: MNISTSource, options: CNNTrainingOptions, seed: UInt64, out: String, resume: Bool)
        throws -> (model: Sequential, metrics: RunMetrics, test: LabelledImages) {
        try options.validate()
        try OutputFolder.prepare(out)
        let (train, test, description) = try source.load()
        let checkpoint = (out as NSString).appendingPathComponent("checkpoint.safetensors")
        if !resume, FileManager.default.fileExists(atPath: checkpoint) {
            try FileManager.default.removeItem(atPath: checkpoint)
        }
        let model = try Architectures.mnistCNN(generator: Generator(seed: seed))
        let optimizer = Adam(model.parameters, learningRate: options.learningRate)
        let trainer = Trainer(model: model, optimizer: optimizer)
        trainer.batchSize = options.batchSize
        trainer.seed = seed
        trainer.learningRateDecay = options.learningRateDecay
        trainer.checkpointPath = checkpoint
        trainer.settings = "data \(description), seed \(seed), batch size \(options.batchSize), learning rate \(options.learningRate), decay \(options.learningRateDecay), shift \(options.shift)"
        // Epochs restored from a checkpoint keep their test numbers: the records travel with it.
        var epochs = try Checkpoint.records(at: checkpoint).map { try JSONDecoder().decode([EpochMetrics].self, from: Data($0.utf8)) } ?? []
        trainer.records = { String(decoding: try JSONEncoder().encode(epochs), as: UTF8.self) }
        if options.shift > 0 {
            trainer.augment = { try Augmentation.randomShift($0, maxPixels: options.shift, generator: $1) }
        }
        if let adversarial = options.adversarial {
            trainer.settings! += ", adversarial \(adversarial.method.rawValue) ε \(adversarial.epsilon) steps \(adversarial.steps) step \(adversarial.stepSize.map { "\($0)" } ?? "default") warm-up \(adversarial.warmUpEpochs) epochs"
            trainer.objective = { [unowned trainer] x, y, generator in
                let logits = try model(adversarial.adversarialBatch(x, labels: y, model: model, generator: generator, afterEpochs: trainer.epochsDone))
                return (try Functional.crossEntropy(logits, target: y), logits)
            }
        }
        ProgressObserver.note("training the MNIST CNN (\(model.parameterCount) parameters) on \(description) for \(options.epochs) epochs"
                              + (options.adversarial.map { " on \($0.method.rawValue.uppercased()) adversarial examples (ε \($0.epsilon))" } ?? ""))
        let history = try trainer.fit(inputs: train.images, targets: train.labels, epochs: options.epochs) { report in
            model.eval()
            defer { model.train() }
            let evaluation = try ClassifierEvaluation({ try model($0) }, on: test)
            epochs.append(EpochMetrics(epoch: report.epoch, trainLoss: report.loss, trainAccuracy: report.accuracy,
                                       testLoss: evaluation.loss, testAccuracy: evaluation.accuracy, seconds: report.seconds))
            ProgressObserver.note(String(format: "epoch %2d  train loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  (%.1fs)",
                         report.epoch, report.loss, 100 * report.accuracy, evaluation.loss, 100 * evaluation.accuracy, report.seconds))
        }
        let final = try ClassifierEvaluation({ try model($0) }, on: test)
        let metrics = RunMetrics(
            data: description, seed: seed, threads: Torch.threads, libtorch: Torch.version,
            parameters: model.parameterCount, epochs: epochs, testAccuracy: final.accuracy, testLoss: final.loss,
            trainSeconds: history.map(\.seconds).reduce(0, +), confusionMatrix: final.confusion.counts)
        try ModelFile.save(model, architecture: ModelFile.mnistCNN, to: (out as NSString).appendingPathComponent("model.safetensors"))
        try JSONFile.write(metrics, to: (out as NSString).appendingPathComponent("metrics.json"))
        return (model, metrics, test)
    }

    /// Writes index.html with accuracy, curves, the confusion matrix and a grid of test predictions.
    public static func writeReport(model: Sequential, metrics: RunMetrics, test: LabelledImages, out: String, totalSeconds: Double) throws {
        let evaluation = try ClassifierEvaluation({ try model($0) }, on: test)
        let shown = min(64, test.count)
        let grid = try PredictionGrid.render(images: test.images.slice(dim: 0, start: 0, end: shown),
                                             predictions: Array(evaluation.predictions.prefix(shown)),
                                             labels: try test.labels.slice(dim: 0, start: 0, end: shown).scalars(as: Int64.self).map(Int.init))
        try PNG.write(grid, to: (out as NSString).appendingPathComponent("predictions.png"))
        func trainAndTest(_ title: String, _ train: (EpochMetrics) -> Double, _ test: (EpochMetrics) -> Double) -> String {
            LineChart(title: title, xLabel: "epoch", series: [
                .init(name: "train", values: metrics.epochs.map(train), color: "#1f77b4"),
                .init(name: "test", values: metrics.epochs.map(test), color: "#d62728"),
            ]).svg()
        }
        let lossChart = trainAndTest("Cross-entropy loss", \.trainLoss, \.testLoss)
        try AtomicFile.write(lossChart, to: (out as NSString).appendingPathComponent("loss.svg"))
        let accuracyChart = trainAndTest("Accuracy", \.trainAccuracy, \.testAccuracy)
        var page = HTMLPage(title: "Glassbox demo: a CNN on MNIST")
        page.keyValues([
            ("test accuracy", String(format: "%.2f%%", 100 * metrics.testAccuracy)),
            ("test loss", String(format: "%.4f", metrics.testLoss)),
            ("data", metrics.data),
            ("model", "Conv(32)–Pool–Conv(64)–Pool–Dropout–FC(128)–FC(10), \(metrics.parameters) parameters"),
            ("training time", String(format: "%.1f s (%d threads, libtorch %@)", metrics.trainSeconds, metrics.threads, metrics.libtorch)),
            ("total time", String(format: "%.1f s", totalSeconds)),
            ("seed", String(metrics.seed)),
        ])
        page.heading("Training curves")
        page.html(lossChart)
        page.html(accuracyChart)
        page.heading("Confusion matrix (test set)")
        page.html(evaluation.confusion.html())
        page.heading("Test digits")
        page.paragraph("The first \(shown) test digits. Green frame: correct; red: wrong. The corner shows the predicted class.")
        page.image("predictions.png", caption: "Predictions on test digits")
        // The tour's pages, each linked when the run wrote it.
        let linkedPages: [(path: String, heading: String, html: String)] = [
            ("attribution.html", "Why these predictions?",
             "<p><a href=\"attribution.html\">Attribution maps</a>: every attribution method of the catalog (fifteen) explaining the same eight test digits.</p>"),
            ("sanity-check.html", "Can these explanations be trusted?",
             "<p><a href=\"sanity-check.html\">Sanity checks</a>: do the maps change when the CNN's layers are randomised (Adebayo et al. 2018), or do they only trace edges?</p>"),
            ("transparent/compare.html", "How far behind are models you can read?",
             "<p><a href=\"transparent/compare.html\">Transparent baselines</a>: logistic regression, decision trees on pixels and on five hand-made features, nearest neighbours in pixel space and in the CNN's last hidden layer, and trees distilled from the CNN, with accuracy, size and training time. <code>glassbox transparent linear|tree|knn</code> draw the weight maps, trees and neighbours.</p>"),
            ("text/tokens.html", "Text: which words carry the sentiment?",
             "<p><a href=\"text/tokens.html\">Token attributions</a> of a BiLSTM with attention trained on the bundled tweets: Integrated Gradients, gradient × input, leave-one-out, Shapley sampling, LIME and the attention weights, side by side. <code>glassbox text train|explain</code> and <code>glassbox attribute --text</code> do more.</p>"),
            ("superposition/superposition.html", "Superposition",
             "<p><a href=\"superposition/superposition.html\">Toy models of superposition</a> (Elhage et al. 2022): 20 sparse features squeezed into 5 dimensions, linear against ReLU output, over a sweep of sparsity. <code>glassbox superposition</code> adds the phase diagram, feature dimensionality and the privileged basis.</p>"),
            ("geometry/geometry.html", "The geometry of a layer",
             "<p><a href=\"geometry/geometry.html\">Jacobian spectra</a> from the input to the CNN's 128-unit hidden layer: effective ranks, the directions inputs share, and what a change of basis at that layer keeps (the function, the spectra) and what it changes (every per-neuron measure). <code>glassbox geometry</code> takes any pair of hook points, consecutive pairs and training checkpoints.</p>"),
            ("visualize/visualize.html", "What do the channels respond to?",
             "<p><a href=\"visualize/visualize.html\">Feature visualisation</a>: images that maximise three channels of the CNN's second convolution, and its first layer's filters. <code>glassbox visualize</code> takes units, channels, layers, classes and sums of them; <code>glassbox invert</code> reconstructs an image from its representation at each layer.</p>"),
            ("attack/attack.html", "How little does it take to fool it?",
             "<p><a href=\"attack/attack.html\">Adversarial examples</a>: the CNN's accuracy under FGSM and PGD as the budget ε grows, with examples. <code>glassbox attack</code> adds BIM, PGD in L2, Carlini–Wagner and transfer to a second model; <code>glassbox adversarial-train</code> trains a robust CNN.</p>"),
            ("sae/dashboard.html", "A dictionary for the hidden layer",
             "<p><a href=\"sae/dashboard.html\">Sparse autoencoder features</a> of the CNN's 128-unit hidden layer (a ×4 dictionary): each feature's top digits, digits across its activation range, a prototype, and the classes it pushes, with the label purity of features against neurons. <code>glassbox activations collect</code> and <code>glassbox sae train|evaluate|dashboard</code> do the same for tweet language models and MiniLM.</p>"),
            ("senn.html", "Models that explain themselves",
             "<p><a href=\"senn.html\">A self-explaining neural network</a>: concept relevances, prototypes, stability against the CNN's post-hoc explanations, and a tabular SENN.</p>"),
        ]
        for linked in linkedPages where FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent(linked.path)) {
            page.heading(linked.heading)
            page.html(linked.html)
        }
        page.heading("The papers' results")
        page.html("<p><code>glassbox reproduce --list</code> names the reproductions (SENN's λ study, the sanity checks with label randomisation); each writes its own page with the published figures beside ours.</p>")
        try page.write(to: (out as NSString).appendingPathComponent("index.html"))
    }
}
