import ExplanationCore
import Foundation
import Report
import Torch

/// What `glassbox attribute` reads and writes: targets and baselines given as text, and per input
/// an .npy of its attributions, heat maps (and overlays for images), and one attributions.safetensors.
public struct AttributionFiles {
    /// One input file's attributions.
    public struct Entry {
        public var path: String
        /// The input as read (before normalisation), for overlays.
        public var batch: Tensor
        public var names: [String]
        public var targets: [Int]
        public var attribution: AttributionResult

        public init(path: String, batch: Tensor, names: [String], targets: [Int], attribution: AttributionResult) {
            (self.path, self.batch, self.names, self.targets, self.attribution) = (path, batch, names, targets, attribution)
        }

        var stem: String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
    }

    public var sign: Heatmap.Sign
    public var outlierPercent: Double

    public init(sign: Heatmap.Sign, outlierPercent: Double) {
        (self.sign, self.outlierPercent) = (sign, outlierPercent)
    }

    /// Refuses inputs whose outputs would overwrite each other (a/d.npy and b/d.npy, or d.npy and d.png).
    public static func checkDistinct(_ paths: [String]) throws {
        var seen: [String: String] = [:]
        for path in paths {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            if let other = seen[stem] {
                throw TorchError("\(other) and \(path) would write the same output files (\(stem).*); rename one or run them separately")
            }
            seen[stem] = path
        }
    }

    /// Class indices for a batch from "predicted", "N" or "N,N,…" (one per example), checked against the model's outputs.
    public static func targets(_ text: String, batch: Tensor, model: LoadedModel) throws -> [Int] {
        let n = batch.shape[0]
        let outputs = try noGrad { try model(batch.slice(dim: 0, start: 0, end: min(n, 1))) }
        guard outputs.rank == 2 else { throw TorchError("the model returns shape \(outputs.shape); attribution needs (N, classes)") }
        let classes = outputs.shape[1]
        let chosen: [Int]
        if text == "predicted" {
            chosen = try noGrad { try model(batch).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        } else {
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.allSatisfy({ $0 != nil }), !parts.isEmpty else { throw TorchError("--target must be a class number, a comma-separated list, or 'predicted'; got '\(text)'") }
            let values = parts.map { $0! }
            guard values.count == 1 || values.count == n else { throw TorchError("--target lists \(values.count) classes for \(n) examples") }
            chosen = values.count == 1 ? Array(repeating: values[0], count: n) : values
        }
        if let bad = chosen.first(where: { !(0..<classes).contains($0) }) {
            throw TorchError("target \(bad) is out of range: the model has \(classes) classes (0…\(classes - 1))")
        }
        return chosen
    }

    /// A baseline from "zeros", "value:V", "blur:SIGMA", "noise" (uniform [0, 1), seeded) or an .npy file.
    public static func baseline(_ text: String, seed: UInt64) throws -> Baseline {
        if text == "zeros" { return .zeros }
        if text == "noise" { return .uniformNoise(low: 0, high: 1, seed: seed) }
        if text.hasPrefix("value:"), let v = Double(text.dropFirst(6)), v.isFinite { return .value(v) }
        if text.hasPrefix("blur:"), let s = Double(text.dropFirst(5)), s > 0, s.isFinite { return .blurred(sigma: s) }
        if text.hasSuffix(".npy") { return .tensor(try NumpyFile.read(text).to(.float32)) }
        throw TorchError("--baseline must be zeros, value:V, blur:SIGMA, noise or a .npy file; got '\(text)'")
    }

    /// Writes every entry's files to `out`; returns one summary line per example.
    public func write(_ entries: [Entry], method: String, model: String, to out: String) throws -> [String] {
        var stored: [String: Tensor] = [:]
        var lines: [String] = []
        for entry in entries {
            try NumpyFile.write(entry.attribution.values, to: "\(out)/\(entry.stem).\(method).npy")
            for (row, name) in entry.names.enumerated() {
                let values = try entry.attribution.values[row]
                stored[name] = values
                let label = entry.names.count == 1 ? entry.stem : "\(entry.stem)-\(row)"
                try writePictures(values, image: entry.batch[row], to: "\(out)/\(label).\(method)")
                var line = "\(name): target \(entry.targets[row]), sum of attributions \(String(format: "%.5g", try values.sum().item()))"
                if let delta = entry.attribution.convergenceDelta {
                    line += ", convergence delta \(String(format: "%.3g", try delta[row].item()))"
                }
                lines.append(line)
            }
        }
        try Safetensors.write(stored, metadata: ["method": method, "model": model], to: "\(out)/attributions.safetensors")
        return lines
    }

    /// Heat map and blended overlay, when the attribution is a 2-D or 3-D map (an overlay when it fits the image).
    func writePictures(_ values: Tensor, image: Tensor, to stem: String) throws {
        guard values.rank == 3 || values.rank == 2 else { return }
        try PNG.write(Heatmap.render(values, style: .heatMap, sign: sign, outlierPercentile: outlierPercent), to: "\(stem).png")
        let mapShape = values.rank == 3 ? Array(values.shape.dropFirst()) : values.shape
        if image.rank == 3, Array(image.shape.dropFirst()) == mapShape, [1, 3].contains(image.shape[0]) {
            try PNG.write(Heatmap.render(values, image: image, style: .blendedHeatMap, sign: sign, outlierPercentile: outlierPercent),
                          to: "\(stem).blended.png")
        }
    }
}
