import Concepts
import Datasets
import Foundation
import NN
import Report
import Torch
import Transparent

/// `glassbox transparent compare`: how far the transparent models fall behind the network, on
/// one page (accuracy, size, training time), and tree distillation of the network (a tree fitted
/// to the network's predictions; fidelity against depth).
public enum TradeoffStudy {
    public struct Row: Codable, Sendable {
        public var model: String
        public var features: String
        public var testAccuracy: Double
        public var size: Int
        public var sizeUnit: String
        public var trainSeconds: Double?
    }

    public struct DistillationRow: Codable, Sendable {
        public var maxDepth: String
        public var nodes: Int
        /// Fraction of test inputs on which the tree predicts what the network predicts.
        public var fidelity: Double
        public var testAccuracy: Double
    }

    public struct Record: Codable, Sendable {
        public var data: String
        public var rows: [Row]
        public var distillation: [DistillationRow]
    }

    /// The network to compare against: a saved model, or the demo CNN trained now (its time counts).
    public static func network(modelPath: String?, epochs: Int, seed: UInt64, out: String) throws -> (model: Module, trainSeconds: Double?) {
        if let modelPath {
            guard let module = try ModelFile.load(modelPath).model.module else {
                throw TorchError("\(modelPath) is a TorchScript model; the comparison needs a native model (the demo CNN) for its hidden layer")
            }
            return (module, nil)
        }
        var options = CNNTrainingOptions()
        options.epochs = epochs
        let run = try MNISTRun.train(source: .bundled, options: options, seed: seed, out: path(out, "cnn"), resume: false)
        return (run.model, run.metrics.trainSeconds)
    }

    public static func run(data options: TransparentDataOptions, network: (model: Module, trainSeconds: Double?)?, senn: SENNFile?,
                           inverseStrength: Double, distillationDepths: [Int?], out: String) throws -> Record {
        try OutputFolder.prepare(out)
        var pixelOptions = options
        pixelOptions.features = .pixels
        let pixels = try TransparentData.load(pixelOptions)
        var rows: [Row] = []
        func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let started = Date()
            let value = try body()
            return (value, Date().timeIntervalSince(started))
        }
        let steps = 6 + (options.dataset == .mnist ? 4 : 0)
        func progress(_ status: String) { ProgressObserver.report("compare", done: rows.count, of: steps, unit: "models", status: status) }

        let (logistic, logisticSeconds) = try timed { try LogisticRegression.fit(pixels.train, settings: .init(inverseStrength: inverseStrength)) }
        rows.append(Row(model: "logistic regression (C = \(inverseStrength))", features: "raw", testAccuracy: try accuracy(of: logistic.predict(pixels.test.features), against: pixels.test.labels),
                        size: logistic.parameterCount, sizeUnit: "parameters", trainSeconds: logisticSeconds))
        progress("logistic regression")
        var spaces = [("raw", pixels)]
        if options.dataset == .mnist {
            var handOptions = options
            handOptions.features = .handcrafted
            spaces.append(("hand-made", try TransparentData.load(handOptions)))
        }
        for (name, data) in spaces {
            for depth in [3, 10, nil] as [Int?] {
                let (tree, seconds) = try timed { try DecisionTree.fit(data.train, settings: .init(maxDepth: depth)) }
                rows.append(Row(model: "tree, depth \(TreeStudy.depthName(depth))", features: name,
                                testAccuracy: try accuracy(of: tree.predict(data.test.features), against: data.test.labels),
                                size: tree.nodes.count, sizeUnit: "nodes", trainSeconds: seconds))
                progress("tree")
            }
        }
        let k = 3
        let neighbors = try NearestNeighbors(pixels.train)
        rows.append(Row(model: "\(k)-NN", features: "raw", testAccuracy: try accuracy(of: neighbors.predict(pixels.test.features, k: k), against: pixels.test.labels),
                        size: pixels.train.count, sizeUnit: "stored examples", trainSeconds: 0))
        progress("k-NN")

        var distillation: [DistillationRow] = []
        var page = HTMLPage(title: "Transparent baselines against the network")
        if let network, let trainImages = pixels.trainImages, let testImages = pixels.testImages {
            network.model.eval()
            let layer = try NeighborStudy.defaultLayer(of: network.model)
            let latent = try NearestNeighbors(LabelledFeatures(features: NeighborStudy.layerFeatures(network.model, trainImages, layer: layer),
                                                               labels: pixels.train.labels, classes: pixels.train.classes))
            let latentTest = try NeighborStudy.layerFeatures(network.model, testImages, layer: layer)
            rows.append(Row(model: "\(k)-NN in the network's layer \(layer)", features: "learned", testAccuracy: try accuracy(of: latent.predict(latentTest, k: k), against: pixels.test.labels),
                            size: pixels.train.count, sizeUnit: "stored examples", trainSeconds: 0))
            if let senn {
                senn.model.eval()
                let predictions = try noGrad { try senn.model(testImages).argmax(dim: 1) }
                rows.append(Row(model: "SENN (\(senn.model.concepts) concepts)", features: "learned concepts", testAccuracy: try accuracy(of: predictions, against: pixels.test.labels),
                                size: senn.model.parameterCount, sizeUnit: "parameters", trainSeconds: nil))
            }
            let trainPredictions = try noGrad { try network.model(trainImages).argmax(dim: 1) }
            let testPredictions = try noGrad { try network.model(testImages).argmax(dim: 1) }
            rows.append(Row(model: "the network (CNN)", features: "raw", testAccuracy: try accuracy(of: testPredictions, against: pixels.test.labels),
                            size: network.model.parameterCount, sizeUnit: "parameters", trainSeconds: network.trainSeconds))
            progress("network")
            let imitation = try LabelledFeatures(features: pixels.train.features, labels: trainPredictions, classes: pixels.train.classes)
            for depth in distillationDepths {
                let tree = try DecisionTree.fit(imitation, settings: .init(maxDepth: depth))
                let predicted = try tree.predict(pixels.test.features)
                distillation.append(DistillationRow(maxDepth: TreeStudy.depthName(depth), nodes: tree.nodes.count,
                                                    fidelity: try accuracy(of: predicted, against: testPredictions),
                                                    testAccuracy: try accuracy(of: predicted, against: pixels.test.labels)))
            }
            progress("distillation")
        }
        page.keyValues([("data", pixels.description)])
        page.heading("Accuracy against size")
        page.paragraph("Test accuracy, model size and training time on the same split. Interpretability here is the seed's: a model you can read (ten weight images, a tree of depth 3) or whose decisions point at training examples.")
        var table = ["<table><tr><th style=\"text-align:left\">model</th><th>features</th><th>test accuracy</th><th>size</th><th>training time</th></tr>"]
        for row in rows {
            table.append("<tr><th style=\"text-align:left\">\(escapeHTML(row.model))</th><td>\(row.features)</td>" + String(format: "<td>%.1f%%</td>", 100 * row.testAccuracy)
                         + "<td>\(row.size) \(row.sizeUnit)</td><td>\(row.trainSeconds.map { String(format: "%.2f s", $0) } ?? "not measured (loaded)")</td></tr>")
        }
        page.html(table.joined() + "</table>")
        if network == nil { page.paragraph("The network rows and tree distillation need the demo CNN: pass --model, or let the command train one.") }
        if senn == nil, network != nil { page.paragraph("Pass --senn (a SENN trained with `glassbox senn train`) to add its row.") }
        if !distillation.isEmpty {
            page.heading("Distilling the network into a tree")
            page.paragraph("A tree fitted to the network's own predictions on the training digits (not the labels), then compared with the network on the test digits: fidelity is how often the tree predicts what the network predicts. This is the simple form of tree regularisation; Wu et al. (2018) go further and train the network itself to be well approximated by a small tree, adding a differentiable surrogate of the tree's average path length to the training loss.")
            var rows = ["<table><tr><th>max depth</th><th>nodes</th><th>fidelity to the network</th><th>test accuracy</th></tr>"]
            for row in distillation {
                rows.append(String(format: "<tr><td>%@</td><td>%d</td><td>%.1f%%</td><td>%.1f%%</td></tr>", row.maxDepth, row.nodes, 100 * row.fidelity, 100 * row.testAccuracy))
            }
            page.html(rows.joined() + "</table>")
            page.html(LineChart(title: "Fidelity to the network against tree depth", xLabel: "max depth (" + distillation.map(\.maxDepth).joined(separator: ", ") + ")",
                                series: [.init(name: "fidelity", values: distillation.map(\.fidelity), color: "#1f77b4"),
                                         .init(name: "test accuracy", values: distillation.map(\.testAccuracy), color: "#d62728")]).svg())
        }
        let record = Record(data: pixels.description, rows: rows, distillation: distillation)
        try JSONFile.write(record, to: path(out, "compare.json"))
        try page.write(to: path(out, "compare.html"))
        return record
    }
}
