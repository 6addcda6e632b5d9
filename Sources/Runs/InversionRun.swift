import ExplanationCore
import Foundation
import NN
import Report
import Torch
import Visualization

/// `glassbox invert`: one image's representation at several layers inverted from noise, shown
/// as a row from shallow to deep with the relative errors (invert.json, invert.html).
public enum InversionRun {
    public struct Record: Codable, Sendable {
        public var model: String
        public var image: String
        public var layers: [String]
        /// ‖φ(x) − φ(x₀)‖ / ‖φ(x₀)‖ per layer.
        public var representationErrors: [Double]
        /// ‖x − x₀‖ / ‖x₀‖ per layer.
        public var imageErrors: [Double]
        public var steps: Int
        public var totalVariation: Double
        public var seed: UInt64
        public var seconds: Double
        public var machine: String
    }

    public static func run(_ model: Explainable, named name: String, image: Tensor, imageName: String, layers: [String], steps: Int,
                           totalVariation: Double, preprocess: ((Tensor) throws -> Tensor)?, seed: UInt64, out: String) throws -> Record {
        try OutputFolder.prepare(out)
        let started = Date()
        var inversion = RepresentationInversion(model, hookPoints: layers)
        (inversion.steps, inversion.totalVariation, inversion.preprocess, inversion.seed) = (steps, totalVariation, preprocess, seed)
        let result = try inversion.run(image)
        let record = Record(model: name, image: imageName, layers: layers, representationErrors: result.relativeErrors, imageErrors: result.imageErrors,
                            steps: steps, totalVariation: totalVariation, seed: seed, seconds: Date().timeIntervalSince(started),
                            machine: MachineDescription.current.summary)
        try Safetensors.write(["images": result.images, "original": image], to: "\(out)/reconstructions.safetensors")
        try JSONFile.write(record, to: "\(out)/invert.json")
        var page = HTMLPage(title: "Inverting \(name)'s representations")
        page.paragraph("From noise, the image whose activation at each layer matches \(imageName)'s: min ‖φ(x) − φ(x₀)‖²/‖φ(x₀)‖² + \(totalVariation)·TV(x) (Mahendran & Vedaldi 2015), \(steps) steps of Adam with cosine annealing, pixels in [0, 1]. Deeper layers keep less of the image. Seed \(seed); \(String(format: "%.1f", record.seconds)) s on \(record.machine).")
        try FileManager.default.createDirectory(atPath: "\(out)/images", withIntermediateDirectories: true)
        let original = image.rank == 3 ? try image.unsqueezed(dim: 0) : image
        let row = try Tensor.cat([original.to(.float32), result.images]).unsqueezed(dim: 0)
        try PNG.write(ImageMosaic.render(row, scale: max(1, 112 / original.shape[2])), to: "\(out)/images/reconstructions.png")
        page.image("images/reconstructions.png", caption: "the image, then its reconstruction from " + layers.joined(separator: ", "))
        page.table(header: ["layer", "representation error", "distance from the image"], rows: layers.indices.map {
            [layers[$0], String(format: "%.3f", record.representationErrors[$0]), String(format: "%.3f", record.imageErrors[$0])]
        })
        try page.write(to: "\(out)/invert.html")
        return record
    }
}
