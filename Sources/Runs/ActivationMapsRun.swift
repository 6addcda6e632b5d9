import ExplanationCore
import Foundation
import Report
import Torch
import Visualization

/// `glassbox activations`: each channel's feature map for one image at chosen layers
/// (activations.json, activations.html, maps.safetensors).
public enum ActivationMapsRun {
    public struct Record: Codable, Sendable {
        public struct Layer: Codable, Sendable {
            public var hookPoint: String
            public var channels: Int
            public var height: Int, width: Int
            /// Each channel's mean activation.
            public var means: [Double]
            /// The largest |activation| of the layer: the scale its maps are drawn on.
            public var scale: Double
        }
        public var model: String
        public var image: String
        public var layers: [Layer]
        public var seconds: Double
    }

    /// At most this many channels per layer are drawn (all are saved).
    public static let drawnChannels = 128

    public static func run(_ maps: ActivationMaps, named name: String, image: Tensor, imageName: String, out: String) throws -> Record {
        let started = Date()
        let layers = try maps.run(image)
        try OutputFolder.prepare(out)
        var page = HTMLPage(title: "Activation maps: \(name)")
        page.paragraph("Each channel's feature map for \(imageName), channel by channel (not summed). Blue negative, white zero, red positive, on one scale per layer (its largest |activation|), so channels of a layer compare; channels in index order, the first \(drawnChannels) drawn.")
        try FileManager.default.createDirectory(atPath: "\(out)/images", withIntermediateDirectories: true)
        let original = try (image.rank == 3 ? image : image[0]).to(.float32)
        try PNG.write(ImageMosaic.render(original.reshaped([1, 1] + original.shape), scale: max(1, 112 / original.shape[1])), to: "\(out)/images/image.png")
        page.image("images/image.png", caption: imageName)
        var records: [Record.Layer] = []
        for (index, layer) in layers.enumerated() {
            let (channels, h, w) = (layer.maps.shape[0], layer.maps.shape[1], layer.maps.shape[2])
            let scale = try layer.maps.abs().max().item()
            records.append(.init(hookPoint: layer.hookPoint, channels: channels, height: h, width: w, means: layer.means, scale: scale))
            let shown = min(channels, drawnChannels), perRow = min(shown, 16), rows = (shown + perRow - 1) / perRow
            var tiles = try DivergingMap.colors(layer.maps[0..<shown], scale: scale)
            if rows * perRow > shown { tiles = try Tensor.cat([tiles, Tensor.ones([rows * perRow - shown, 3, h, w])]) }
            try PNG.write(ImageMosaic.render(tiles.reshaped([rows, perRow, 3, h, w]), scale: max(1, 56 / max(h, w))), to: "\(out)/images/layer\(index).png")
            page.heading("Hook point \(layer.hookPoint): \(channels) channels of \(h)×\(w)")
            let strongest = layer.means.indices.sorted { layer.means[$0] > layer.means[$1] }.prefix(8)
            page.image("images/layer\(index).png", caption: String(format: "scale ±%.3g; highest mean activation: ", scale)
                + strongest.map { String(format: "channel %d (%.3g)", $0, layer.means[$0]) }.joined(separator: ", "))
        }
        let record = Record(model: name, image: imageName, layers: records, seconds: Date().timeIntervalSince(started))
        try Safetensors.write(Dictionary(uniqueKeysWithValues: layers.map { ("maps.\($0.hookPoint)", $0.maps) }), to: "\(out)/maps.safetensors")
        try JSONFile.write(record, to: "\(out)/activations.json")
        try page.write(to: "\(out)/activations.html")
        return record
    }
}
