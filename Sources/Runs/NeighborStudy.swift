import ExplanationCore
import Foundation
import NN
import Report
import Torch
import Transparent

/// `glassbox transparent knn` and `glassbox explain-by-example`: k-nearest neighbours as
/// explanation by example (Lipton 2018; Caruana et al. 1999), in input space and in a network's
/// hidden layer, with how often the network agrees with its own neighbours' majority.
public enum NeighborStudy {
    public struct Record: Codable, Sendable {
        public var data: String
        public var metric: String
        /// Test accuracy of k-NN for k = 1, 2, …
        public var inputSpaceAccuracy: [Double]
        public var layer: String?
        public var layerSpaceAccuracy: [Double]?
        public var networkAccuracy: Double?
        /// Fraction of test inputs whose network prediction equals the majority label of their k
        /// nearest training neighbours in the layer's space: how faithful "these examples are why" is.
        public var networkAgreesWithLayerNeighbors: Double?
        public var networkAgreesWithInputNeighbors: Double?
        public var k: Int
    }

    /// The hook point whose output feeds the network's last linear layer (the demo CNN's 128 features).
    public static func defaultLayer(of network: Module) throws -> String {
        let modules = network.namedModules().filter { !$0.path.isEmpty }
        guard let last = modules.lastIndex(where: { $0.module is Linear }), last > 0 else {
            throw TorchError("this network has no final linear layer to take features before; pass --layer (hook points: \(network.hookPointNames.prefix(20).joined(separator: ", ")))")
        }
        return modules[last - 1].path
    }

    /// Activations at `layer` for every row, flattened, in chunks.
    static func layerFeatures(_ network: Module, _ x: Tensor, layer: String) throws -> Tensor {
        network.eval()
        var parts: [Tensor] = []
        for start in stride(from: 0, to: x.shape[0], by: 500) {
            let rows = try x.slice(dim: 0, start: start, end: Swift.min(start + 500, x.shape[0]))
            parts.append(try layerActivations(network, rows, hookPoint: layer).flattened(from: 1).to(.float32))
        }
        return try Tensor.cat(parts)
    }

    public static func run(data: TransparentData, network: Module?, layer: String?, metric: NearestNeighbors.Metric, k: Int,
                           examples: Int, out: String) throws -> Record {
        try OutputFolder.prepare(out)
        guard k >= 1, k <= data.train.count else { throw TorchError("k must be in 1...\(data.train.count), got \(k)") }
        let inputSpace = try NearestNeighbors(data.train, metric: metric)
        let inputNeighbors = try inputSpace.neighbors(of: data.test.features, k: k).indices
        func accuracies(_ model: NearestNeighbors, _ neighbors: Tensor) throws -> [Double] {
            try (1...k).map { try accuracy(of: model.vote(neighbors.slice(dim: 1, start: 0, end: $0)), against: data.test.labels) }
        }
        var record = Record(data: data.description, metric: metric.rawValue, inputSpaceAccuracy: try accuracies(inputSpace, inputNeighbors), k: k)
        var page = HTMLPage(title: "Explanation by example: nearest neighbours")
        var layerNeighbors: Tensor?
        if let network, let images = data.trainImages, let testImages = data.testImages {
            let hookPoint = try layer ?? defaultLayer(of: network)
            ProgressObserver.note("collecting \(hookPoint) activations of \(data.train.count + data.test.count) digits")
            let latent = try LabelledFeatures(features: layerFeatures(network, images, layer: hookPoint), labels: data.train.labels, classes: data.train.classes)
            let latentSpace = try NearestNeighbors(latent, metric: metric)
            let neighbors = try latentSpace.neighbors(of: layerFeatures(network, testImages, layer: hookPoint), k: k).indices
            layerNeighbors = neighbors
            let predictions = try noGrad { try network(testImages).argmax(dim: 1) }
            record.layer = hookPoint
            record.layerSpaceAccuracy = try accuracies(latentSpace, neighbors)
            record.networkAccuracy = try accuracy(of: predictions, against: data.test.labels)
            record.networkAgreesWithLayerNeighbors = try accuracy(of: latentSpace.vote(neighbors), against: predictions)
            record.networkAgreesWithInputNeighbors = try accuracy(of: inputSpace.vote(inputNeighbors), against: predictions)
        }
        page.keyValues([("data", data.description), ("distance", metric.rawValue), ("layer", record.layer ?? "none (pass --model for a network's layer)")])
        page.heading("Accuracy of k-NN on the test set")
        var table = ["<table><tr><th>k</th><th>input space</th>\(record.layer.map { "<th>layer \($0)</th>" } ?? "")</tr>"]
        for i in 0..<k {
            table.append(String(format: "<tr><td>%d</td><td>%.1f%%</td>", i + 1, 100 * record.inputSpaceAccuracy[i])
                         + (record.layerSpaceAccuracy.map { String(format: "<td>%.1f%%</td>", 100 * $0[i]) } ?? "") + "</tr>")
        }
        page.html(table.joined() + "</table>")
        if let agreement = record.networkAgreesWithLayerNeighbors, let inputAgreement = record.networkAgreesWithInputNeighbors,
           let networkAccuracy = record.networkAccuracy {
            page.heading("Are the examples why the network decided?")
            page.paragraph(String(format: "The network (test accuracy %.1f%%) predicts the majority label of its %d nearest training digits in layer %@ for %.1f%% of the test digits, and of its %d nearest digits in pixel space for %.1f%%. Neighbours in the network's own representation explain its decisions far more faithfully than neighbours in pixel space; where they disagree, showing examples would mislead.",
                                  100 * networkAccuracy, k, record.layer!, 100 * agreement, k, 100 * inputAgreement))
        }
        if let testImages = data.testImages, let trainImages = data.trainImages {
            let shown = Swift.min(examples, data.test.count)
            try writeExamples(queries: testImages.slice(dim: 0, start: 0, end: shown), queryLabels: data.test.labels.slice(dim: 0, start: 0, end: shown),
                              trainImages: trainImages, trainLabels: data.train.labels,
                              inputNeighbors: inputNeighbors.slice(dim: 0, start: 0, end: shown),
                              layerNeighbors: try layerNeighbors?.slice(dim: 0, start: 0, end: shown), name: "examples", out: out, page: &page)
        }
        try JSONFile.write(record, to: path(out, "knn.json"))
        try page.write(to: path(out, "knn.html"))
        return record
    }

    /// Each query beside its nearest training digits in pixel space and (when given) in the layer's space.
    static func writeExamples(queries: Tensor, queryLabels: Tensor?, trainImages: Tensor, trainLabels: Tensor, inputNeighbors: Tensor,
                              layerNeighbors: Tensor?, name: String, out: String, page: inout HTMLPage) throws {
        let n = queries.shape[0], k = inputNeighbors.shape[1]
        func images(_ indices: Tensor) throws -> Tensor {
            try trainImages.indexSelect(dim: 0, index: indices.flattened()).reshaped([n, k] + Array(trainImages.shape.dropFirst()))
        }
        var columns = [try queries.unsqueezed(dim: 1), try images(inputNeighbors)]
        if let layerNeighbors { columns.append(try images(layerNeighbors)) }
        try PNG.write(ImageMosaic.render(Tensor.cat(columns, dim: 1), scale: 2), to: path(out, "\(name).png"))
        page.heading("Examples")
        page.paragraph("Each row: the query, then its \(k) nearest training digits in pixel space" + (layerNeighbors == nil ? "" : ", then its \(k) nearest in the network's layer") + ", nearest first.")
        page.image("\(name).png", caption: "Queries and their nearest training examples")
        func labels(_ indices: Tensor, row: Int) throws -> String {
            try trainLabels.indexSelect(dim: 0, index: indices[row]).scalars(as: Int64.self).map(String.init).joined(separator: " ")
        }
        var rows: [(String, String)] = []
        for row in 0..<n {
            let query = try queryLabels.map { "label \(try $0[row].itemInt())" } ?? "input \(row + 1)"
            rows.append(("row \(row + 1) (\(query))", "pixel neighbours: \(try labels(inputNeighbors, row: row))"
                         + (try layerNeighbors.map { "; layer neighbours: \(try labels($0, row: row))" } ?? "")))
        }
        page.keyValues(rows)
    }

    /// Nearest training examples of the user's own inputs.
    public static func explain(inputs: Tensor, names: [String], data: TransparentData, network: Module, layer: String?,
                               metric: NearestNeighbors.Metric, k: Int, out: String) throws -> [ExampleRecord] {
        try OutputFolder.prepare(out)
        guard let trainImages = data.trainImages else { throw TorchError("explanation by example needs image training data (MNIST)") }
        guard Array(inputs.shape.dropFirst()) == Array(trainImages.shape.dropFirst()) else {
            throw TorchError("inputs of shape \(inputs.shape) do not match the training digits \(Array(trainImages.shape.dropFirst()))")
        }
        let hookPoint = try layer ?? defaultLayer(of: network)
        let inputSpace = try NearestNeighbors(data.train, metric: metric)
        let pixel = try inputSpace.neighbors(of: inputs.flattened(from: 1), k: k)
        let latentSpace = try NearestNeighbors(LabelledFeatures(features: layerFeatures(network, trainImages, layer: hookPoint),
                                                                labels: data.train.labels, classes: data.train.classes), metric: metric)
        let latent = try latentSpace.neighbors(of: layerFeatures(network, inputs, layer: hookPoint), k: k)
        let predictions = try noGrad { try network(inputs).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        var page = HTMLPage(title: "Explanation by example")
        page.keyValues([("training data", data.description), ("layer", hookPoint), ("distance", metric.rawValue)])
        try writeExamples(queries: inputs, queryLabels: nil, trainImages: trainImages, trainLabels: data.train.labels,
                          inputNeighbors: pixel.indices, layerNeighbors: latent.indices, name: "neighbors", out: out, page: &page)
        let pixelVotes = try inputSpace.vote(pixel.indices).scalars(as: Int64.self), latentVotes = try latentSpace.vote(latent.indices).scalars(as: Int64.self)
        var records: [ExampleRecord] = []
        for (row, name) in names.enumerated() {
            records.append(ExampleRecord(input: name, prediction: predictions[row],
                                         layerNeighbors: try latent.indices[row].scalars(as: Int64.self).map(Int.init),
                                         layerDistances: try latent.distances[row].to(.float64).scalars(as: Double.self),
                                         layerMajority: Int(latentVotes[row]),
                                         inputNeighbors: try pixel.indices[row].scalars(as: Int64.self).map(Int.init),
                                         inputDistances: try pixel.distances[row].to(.float64).scalars(as: Double.self),
                                         inputMajority: Int(pixelVotes[row]),
                                         neighborLabels: try data.train.labels.indexSelect(dim: 0, index: latent.indices[row]).scalars(as: Int64.self).map(Int.init)))
        }
        try JSONFile.write(records, to: path(out, "neighbors.json"))
        try page.write(to: path(out, "neighbors.html"))
        return records
    }

    public struct ExampleRecord: Codable, Sendable {
        public var input: String
        public var prediction: Int
        /// Training indices of the nearest examples in the layer's space, nearest first, and their distances.
        public var layerNeighbors: [Int]
        public var layerDistances: [Double]
        public var layerMajority: Int
        public var inputNeighbors: [Int]
        public var inputDistances: [Double]
        public var inputMajority: Int
        /// Labels of the layer-space neighbours.
        public var neighborLabels: [Int]
    }
}
