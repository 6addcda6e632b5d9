import ExplanationCore
import Foundation
import NN
import Report
import Torch
import Visualization

/// `glassbox visualize`: feature visualisations of a model's units, channels, layers or classes,
/// with the first convolution's filters, written as visualize.json, visualize.html and the images.
public enum VisualizationRun {
    public struct Settings: Sendable {
        public var parametrization = ImageParametrization.fourier
        public var steps = 256
        public var learningRate = 0.05
        public var transforms = ImageTransforms()
        public var l2Penalty = 0.0
        public var l1Penalty = 0.0
        public var totalVariation = 0.0
        public var annealing = false
        public var diversity: Diversity?
        /// Images per objective (with `diversity`, pushed apart).
        public var copies = 1
        public init() {}
    }

    public struct Record: Codable, Sendable {
        public var model: String
        public var objectives: [String]
        public var parametrization: String
        public var steps: Int
        public var learningRate: Double
        public var jitter: Int
        public var scales: [Double]
        public var rotations: [Double]
        public var blur: Double
        /// "HOOK:WEIGHT" when the diversity term was on.
        public var diversity: String?
        public var copies: Int
        public var l2Penalty: Double, l1Penalty: Double, totalVariation: Double
        /// Each objective's value on its final image.
        public var values: [Double]
        /// Every 16th step's values, per objective.
        public var trace: [[Double]]
        public var seed: UInt64
        public var seconds: Double
        public var machine: String
    }

    public static func run(_ model: Explainable, named name: String, objectives: [FeatureObjective], imageShape: [Int],
                           preprocess: ((Tensor) throws -> Tensor)?, settings: Settings, seed: UInt64, out: String) throws -> Record {
        guard settings.copies >= 1 else { throw TorchError("copies must be at least 1") }
        try OutputFolder.prepare(out)
        let started = Date()
        let repeated = objectives.flatMap { Array(repeating: $0, count: settings.copies) }
        var visualization = FeatureVisualization(model, objectives: repeated)
        (visualization.parametrization, visualization.steps, visualization.learningRate) = (settings.parametrization, settings.steps, settings.learningRate)
        (visualization.transforms, visualization.l2Penalty, visualization.totalVariation) = (settings.transforms, settings.l2Penalty, settings.totalVariation)
        visualization.l1Penalty = settings.l1Penalty
        (visualization.annealing, visualization.preprocess, visualization.seed) = (settings.annealing, preprocess, seed)
        visualization.diversity = settings.diversity
        let result = try visualization.run(imageShape: imageShape)
        let record = Record(model: name, objectives: repeated.map(\.description), parametrization: settings.parametrization.rawValue,
                            steps: settings.steps, learningRate: settings.learningRate, jitter: settings.transforms.jitter,
                            scales: settings.transforms.scales, rotations: settings.transforms.rotations, blur: settings.transforms.blur,
                            diversity: settings.diversity.map { "\($0.hookPoint):\($0.weight)" }, copies: settings.copies, l2Penalty: settings.l2Penalty, l1Penalty: settings.l1Penalty, totalVariation: settings.totalVariation,
                            values: result.values, trace: transposed(result.trace), seed: seed, seconds: Date().timeIntervalSince(started),
                            machine: MachineDescription.current.summary)
        try Safetensors.write(["images": result.images], to: "\(out)/images.safetensors")
        try JSONFile.write(record, to: "\(out)/visualize.json")
        try writePage(record, images: result.images, filters: firstConvolutionWeights(of: model), to: out)
        return record
    }

    static func transposed(_ rows: [[Double]]) -> [[Double]] {
        guard let width = rows.first?.count else { return [] }
        return (0..<width).map { column in rows.map { $0[column] } }
    }

    /// The first layer's weights when it is a convolution (a Sequential's first layer, or a ResNet's conv1).
    static func firstConvolutionWeights(of model: Explainable) -> Tensor? {
        guard let module = model.module else { return nil }
        let first = module.namedModules().first { $0.module is Conv2d }?.module as? Conv2d
        return first?.weight
    }

    static func writePage(_ record: Record, images: Tensor, filters: Tensor?, to out: String) throws {
        var page = HTMLPage(title: "Feature visualisation: \(record.model)")
        page.paragraph("Images that maximise each objective (Olah et al. 2017), optimised together with Adam (learning rate \(record.learningRate), \(record.steps) steps) over a \(record.parametrization) parametrisation, under random jitter of up to \(record.jitter) pixels, rescaling by \(record.scales.map { String(format: "%g", $0) }.joined(separator: ", ")), rotation by \(record.rotations.map { String(format: "%g°", $0) }.joined(separator: ", "))\(record.blur > 0 ? String(format: " and Gaussian blur of σ up to %g pixels", record.blur) : ""); \(record.diversity.map { "\(record.copies) images per objective pushed apart by the diversity term (cosine similarity of Gram matrices, hook point:weight \($0)); " } ?? "")L2 penalty \(record.l2Penalty), L1 penalty \(record.l1Penalty), total variation \(record.totalVariation). Seed \(record.seed); \(String(format: "%.1f", record.seconds)) s on \(record.machine).")
        try FileManager.default.createDirectory(atPath: "\(out)/images", withIntermediateDirectories: true)
        let n = images.shape[0]
        let columns = record.copies > 1 ? record.copies : min(n, 8), rows = (n + columns - 1) / columns
        let padded = n == rows * columns ? images : try Tensor.cat([images, Tensor.ones([rows * columns - n] + Array(images.shape.dropFirst()))])
        try PNG.write(ImageMosaic.render(padded.reshaped([rows, columns] + Array(images.shape.dropFirst())), scale: max(1, 112 / images.shape[2])),
                      to: "\(out)/images/visualizations.png")
        page.image("images/visualizations.png", caption: zip(record.objectives, record.values).map { String(format: "%@ (%.3g)", $0.0, $0.1) }.joined(separator: " · "))
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
        var chart = LineChart(title: "objective during optimisation (with that step's transform)", xLabel: "step",
                              series: record.trace.prefix(8).enumerated().map { .init(name: record.objectives[$0.offset], values: $0.element, color: colours[$0.offset % colours.count]) })
        chart.xTicks = (0..<(record.trace.first?.count ?? 0)).map { String(min($0 * 16, record.steps - 1)) }
        page.html(chart.svg())
        if let filters {
            page.heading("First convolution's filters")
            let (count, channels) = (filters.shape[0], filters.shape[1])
            let shown = min(count, 64), perRow = min(shown, 16)
            let tiles: Tensor
            if channels == 3 {
                // Colour filters: each scaled to [0, 1] on its own range.
                let f = try filters[0..<shown].to(.float32)
                let low = try f.flattened(from: 1).min(dims: [1]).reshaped([-1, 1, 1, 1]), high = try f.flattened(from: 1).max(dims: [1]).reshaped([-1, 1, 1, 1])
                tiles = try (f - low) / (high - low).clamp(min: 1e-12)
            } else {
                tiles = try DivergingMap.colors(filters[0..<shown].sum(dims: [1]))
            }
            let rowsOfTiles = (shown + perRow - 1) / perRow
            let padTiles = rowsOfTiles * perRow - shown
            let all = padTiles == 0 ? tiles : try Tensor.cat([tiles, Tensor.ones([padTiles] + Array(tiles.shape.dropFirst()))])
            try PNG.write(ImageMosaic.render(all.reshaped([rowsOfTiles, perRow] + Array(tiles.shape.dropFirst())), scale: 8), to: "\(out)/images/filters.png")
            page.image("images/filters.png", caption: channels == 3 ? "\(shown) of \(count) filters, each on its own range" : "\(shown) of \(count) filters (summed over \(channels) input channel(s)), blue negative, red positive, one shared scale")
        }
        try page.write(to: "\(out)/visualize.html")
    }
}

extension VisualizationRun {
    public struct DreamRecord: Codable, Sendable {
        public var model: String, image: String, objective: String
        public var octaves: Int, stepsPerOctave: Int, stepSize: Double
        /// The objective on the image and on the dream.
        public var before: Double, after: Double
        public var seed: UInt64
        public var seconds: Double
    }

    /// DeepDream on one image: dream.json, dream.png (the image and the dream side by side) and
    /// dream.safetensors in `out`.
    public static func dream(_ dream: DeepDream, named name: String, image: Tensor, imageName: String, out: String) throws -> DreamRecord {
        try OutputFolder.prepare(out)
        let started = Date()
        let result = try dream.run(image)
        let record = DreamRecord(model: name, image: imageName, objective: dream.objective.description, octaves: dream.settings.octaves,
                                 stepsPerOctave: dream.settings.stepsPerOctave, stepSize: dream.settings.stepSize, before: result.before, after: result.after,
                                 seed: dream.seed, seconds: Date().timeIntervalSince(started))
        try Safetensors.write(["dream": result.image, "image": image], to: "\(out)/dream.safetensors")
        let pair = try Tensor.stack([image.to(.float32), result.image], dim: 0).unsqueezed(dim: 0)
        try PNG.write(ImageMosaic.render(pair, scale: max(1, 224 / image.shape[2])), to: "\(out)/dream.png")
        try JSONFile.write(record, to: "\(out)/dream.json")
        return record
    }
}
