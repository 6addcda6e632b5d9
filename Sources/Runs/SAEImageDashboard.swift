import Datasets
import DictionaryLearning
import ExplanationCore
import Foundation
import NN
import Report
import Torch

/// `glassbox sae dashboard` on an MNIST CNN: feature dashboards with digits instead of contexts
/// (the top-activating digits, digits sampled across activation intervals, a prototype — their
/// mean — the activation histogram and the class logits the decoder direction pushes), and how
/// often a feature's or a neuron's top digits share one label: features against the neurons of
/// the same layer, the comparison Bricken et al. (2023) make for text.
extension SAERun {
    public struct ImageDashboardRecord: Codable, Sendable {
        public var hookPoint: String
        public var features: [FeatureDashboard]
        public var liveFeatures: Int, allFeatures: Int
        public var digits: Int
        /// How the class effects were computed (or why there are none).
        public var effectNote: String
        /// Mean over live features (over neurons) of the share of their `purityTop` most
        /// activating digits that carry the most common label among them.
        public var featurePurity: Double, neuronPurity: Double
        public var purityTop: Int
        public var seed: UInt64
    }

    /// Dashboards on the first `digits` bundled test digits; writes dashboard.json, dashboard.html and images/.
    public static func imageDashboard(sae: SparseAutoencoder, hookPoint: String, model modelPath: String, features chosen: [Int]?, count: Int = 12,
                                      digits: Int = 1000, seed: UInt64, out: String) throws -> ImageDashboardRecord {
        let loaded = try ModelFile.load(modelPath)
        guard let module = loaded.model.module, loaded.inputShape == MNIST.imageShape else {
            throw TorchError("\(modelPath) is not a native MNIST model; image dashboards read an MNIST CNN's hook points")
        }
        let test = try MNIST.bundled().test
        let n = min(digits, test.labels.shape[0])
        let images = try test.images.slice(dim: 0, start: 0, end: n), labels = try test.labels.slice(dim: 0, start: 0, end: n)
        let x = try Tensor.cat(stride(from: 0, to: n, by: 500).map {
            try layerActivations(module, images.slice(dim: 0, start: $0, end: min(n, $0 + 500)), hookPoint: hookPoint).flattened(from: 1)
        })
        guard x.shape[1] == sae.configuration.inputs else {
            throw TorchError("'\(hookPoint)' gives \(x.shape[1]) values per digit; the autoencoder takes \(sae.configuration.inputs)")
        }
        try OutputFolder.prepare(out)
        let f = try noGrad { try sae.encode(x) }
        let live = try liveFeatures(f)
        let generator = Generator(seed: seed)
        let picked = try pickFeatures(chosen, live: live, count: count, of: sae.configuration.features, generator: generator)
        let (effects, note) = try classEffects(sae, hookPoint: hookPoint, module: module)
        let columns = try f.indexSelect(dim: 1, index: Tensor(picked.map { Int64($0) }, shape: [picked.count])).t().contiguous().to(.float64)
        let classes = 10
        let dashboards = try picked.enumerated().map { index, feature in
            try FeatureDashboard(feature: feature, activations: columns[index].scalars(as: Double.self), locations: (0..<n).map { (text: $0, position: 0) },
                                 effects: effects.map { Array($0[(feature * classes)..<((feature + 1) * classes)]) } ?? [], tokenCount: 3, generator: generator)
        }
        let top = 20
        let record = ImageDashboardRecord(hookPoint: hookPoint, features: dashboards, liveFeatures: live.count, allFeatures: sae.configuration.features,
                                          digits: n, effectNote: note,
                                          featurePurity: try labelPurity(f.indexSelect(dim: 1, index: Tensor(live.map { Int64($0) }, shape: [live.count])), labels: labels, top: top),
                                          neuronPurity: try labelPurity(x, labels: labels, top: top), purityTop: top, seed: seed)
        try JSONFile.write(record, to: path(out, "dashboard.json"))
        try imageDashboardPage(record, images: images, labels: try labels.scalars(as: Int64.self).map(Int.init), out: out).write(to: path(out, "dashboard.html"))
        return record
    }

    /// Features that fire on at least one row of `f` (rows × features).
    static func liveFeatures(_ f: Tensor) throws -> [Int] {
        try f.gt(0).to(.int64).sum(dims: [0]).gt(0).scalars(as: Bool.self).enumerated().filter(\.element).map(\.offset)
    }

    /// `chosen` checked against the dictionary's size, else `count` live features drawn at random, sorted.
    static func pickFeatures(_ chosen: [Int]?, live: [Int], count: Int, of features: Int, generator: Generator) throws -> [Int] {
        if let chosen {
            if let bad = chosen.first(where: { !(0..<features).contains($0) }) {
                throw TorchError("feature \(bad) does not exist: the autoencoder has \(features) (0…\(features - 1))")
            }
            return chosen
        }
        guard !live.isEmpty else { throw TorchError("no feature fires on these inputs") }
        return try Tensor.randperm(live.count, generator: generator).scalars(as: Int64.self).prefix(count).map { live[Int($0)] }.sorted()
    }

    /// Each feature's direct effect on the class logits, (features × classes) row-major, when the
    /// hook point feeds the model's last layer, a linear one: decoder direction × its weights.
    static func classEffects(_ sae: SparseAutoencoder, hookPoint: String, module: Module) throws -> (effects: [Double]?, note: String) {
        let layers = module.children
        guard let index = layers.firstIndex(where: { $0.name == hookPoint }), index == layers.count - 2, let last = layers.last?.module as? Linear else {
            return (nil, "no class effects: hook point \(hookPoint) does not feed the model's final linear layer directly")
        }
        return (try noGrad { try sae.decoderWeight.matmul(last.weight.t()) }.to(.float64).scalars(as: Double.self),
                "decoder direction × the final linear layer's weights (the bias left out)")
    }

    /// Mean over columns of `activations` (rows × units) of the majority label's share among the
    /// `top` rows where that unit is largest (only rows where it is positive count).
    static func labelPurity(_ activations: Tensor, labels: Tensor, top: Int) throws -> Double {
        let k = min(top, activations.shape[0])
        let (values, rows) = try activations.topk(k, dim: 0)
        let positive = try values.gt(0).t().contiguous().scalars(as: Bool.self)
        let chosen = try labels.indexSelect(dim: 0, index: rows.flattened()).reshaped([k, -1]).t().contiguous().scalars(as: Int64.self)
        let units = activations.shape[1]
        var shares: [Double] = []
        for unit in 0..<units {
            let firing = (0..<k).filter { positive[unit * k + $0] }.map { chosen[unit * k + $0] }
            guard !firing.isEmpty else { continue }
            let counts = Dictionary(grouping: firing, by: { $0 }).mapValues(\.count)
            shares.append(Double(counts.values.max()!) / Double(firing.count))
        }
        return shares.isEmpty ? 0 : shares.reduce(0, +) / Double(shares.count)
    }

    static func imageDashboardPage(_ record: ImageDashboardRecord, images: Tensor, labels: [Int], out: String) throws -> HTMLPage {
        var page = HTMLPage(title: "Sparse autoencoder features: digits")
        page.paragraph(String(format: "Features of the autoencoder at hook point %@, on the first %d bundled test digits; %d of %d features fire there. Label purity — the share of a unit's %d most activating digits that carry their most common label — is %.3f for the features and %.3f for the layer's neurons (Bricken et al. 2023 compare features with neurons the same way on text). For each feature: its most activating digits, digits sampled from five equal intervals of its activation, the mean of its top digits (a prototype), the histogram of its positive activations, and the classes it pushes up and down (%@).",
                              record.hookPoint, record.digits, record.liveFeatures, record.allFeatures, record.purityTop, record.featurePurity, record.neuronPurity, record.effectNote))
        try FileManager.default.createDirectory(atPath: path(out, "images"), withIntermediateDirectories: true)
        func mosaic(_ examples: [FeatureDashboard.Example], name: String) throws -> String {
            let tiles = try Tensor.stack(examples.map { try images[$0.text] }, dim: 0)
            try PNG.write(ImageMosaic.render(tiles.unsqueezed(dim: 0), scale: 2), to: path(out, "images/\(name).png"))
            return "images/\(name).png"
        }
        for dashboard in record.features {
            page.heading(String(format: "Feature %d: fires on %.1f%% of digits, largest activation %.3f", dashboard.feature, 100 * dashboard.frequency, dashboard.maxActivation))
            guard !dashboard.top.isEmpty else { page.paragraph("It does not fire on these digits."); continue }
            let prototype = try Tensor.stack(dashboard.top.map { try images[$0.text] }, dim: 0).mean(dims: [0])
            try PNG.write(ImageMosaic.render(prototype.reshaped([1, 1] + prototype.shape), scale: 4), to: path(out, "images/feature-\(dashboard.feature)-prototype.png"))
            page.image("images/feature-\(dashboard.feature)-prototype.png", caption: "prototype: the mean of its top \(dashboard.top.count) digits")
            page.image(try mosaic(dashboard.top, name: "feature-\(dashboard.feature)-top"),
                       caption: "top: " + dashboard.top.map { String(format: "%d (%.2f)", labels[$0.text], $0.activation) }.joined(separator: ", "))
            let sampled = dashboard.intervals.enumerated().reversed().flatMap { bin, samples in samples.map { (bin, $0) } }
            if !sampled.isEmpty {
                page.image(try mosaic(sampled.map(\.1), name: "feature-\(dashboard.feature)-intervals"),
                           caption: "sampled across intervals, strongest first: " + sampled.map { String(format: "%d (%.2f, interval %d of 5)", labels[$0.1.text], $0.1.activation, $0.0 + 1) }.joined(separator: ", "))
            }
            let edges = (0...10).map { dashboard.maxActivation * Double($0) / 10 }
            page.html(BarChart(title: "positive activations", labels: zip(edges, edges.dropFirst()).map { String(format: "%.2f – %.2f", $0, $1) },
                               values: dashboard.histogram.map(Double.init)).svg())
            if !dashboard.promoted.isEmpty {
                page.table(header: ["promotes", "logit effect", "suppresses", "logit effect"], rows: zip(dashboard.promoted, dashboard.suppressed).map { up, down in
                    ["digit \(up.token)", String(format: "%+.3f", up.effect), "digit \(down.token)", String(format: "%+.3f", down.effect)]
                })
            }
        }
        return page
    }
}
