import Foundation
import ExplanationCore
import NN
import Report
import Torch
import Visualization

/// `glassbox dip fit|inpaint|denoise|invert`: the deep image prior's demonstrations on one image
/// (dip.json, dip.html).
public enum DeepImagePriorRun {
    public enum Task: String, Sendable, CaseIterable { case fit, inpaint, denoise, invert }

    public struct Record: Codable, Sendable {
        public var task: String
        public var image: String
        public var steps: Int
        public var every: Int
        /// Loss curves by name (fit: image, noise, shuffled pixels; otherwise the one fit).
        public var losses: [String: [Double]]
        /// fit: the first recorded step each curve is below 0.001 (nil: never).
        public var stepsToFit: [String: Int?]?
        /// inpaint: MSE on the hidden pixels, the network's and the known pixels' mean as a fill.
        public var hiddenError: Double?, meanFillError: Double?
        /// denoise: PSNR (dB) of the noisy image, the best output (early stopping) and the last.
        public var noisyPSNR: Double?, bestPSNR: Double?, bestStep: Int?, finalPSNR: Double?
        public var psnr: [Double]?
        /// invert: the layer, and the representation and image errors of the prior's inversion and of total variation's.
        public var layer: String?
        public var priorErrors: InversionErrors?, totalVariationErrors: InversionErrors?
        public var seed: UInt64
        public var seconds: Double
        public var machine: String
    }

    public struct InversionErrors: Codable, Sendable {
        /// ‖φ(x) − φ(x₀)‖ / ‖φ(x₀)‖ and ‖x − x₀‖ / ‖x₀‖.
        public var representation: Double, image: Double
    }

    /// What `invert` inverts: a model's layer, and the total-variation weight of the pixel inversion it is compared with.
    public struct InversionTarget {
        public var model: Explainable
        public var layer: String
        public var totalVariation = 0.02
        public var preprocess: ((Tensor) throws -> Tensor)?
        public init(model: Explainable, layer: String) { (self.model, self.layer) = (model, layer) }
    }

    public static func run(_ task: Task, image: Tensor, imageName: String, prior: DeepImagePrior, noise: Double = 0.1, inverting target: InversionTarget? = nil,
                           seed: UInt64, out: String) throws -> Record {
        if task == .invert, target == nil { throw TorchError("dip invert needs a model and a layer (--model, --layer)") }
        try OutputFolder.prepare(out)
        let started = Date()
        let generator = Generator(seed: seed &+ 1)
        var record = Record(task: task.rawValue, image: imageName, steps: prior.steps, every: prior.every, losses: [:], seed: seed, seconds: 0,
                            machine: MachineDescription.current.summary)
        var shown: [(String, Tensor)] = [("image", image)]
        switch task {
        case .fit:
            let noiseImage = try Tensor.rand(image.shape, generator: generator)
            let order = try Tensor.rand([image.count / image.shape[0]], generator: generator).sorted(dim: 0).indices
            let shuffled = try image.flattened(from: 1).indexSelect(dim: 1, index: order).reshaped(image.shape)
            var steps: [String: Int?] = [:]
            for (name, target) in [("image", image), ("shuffled pixels", shuffled), ("noise", noiseImage)] {
                let fit = try prior.fit(target)
                record.losses[name] = fit.losses
                // updateValue keeps a nil (never fitted); a subscript assignment of nil would drop the key.
                steps.updateValue(fit.losses.firstIndex { $0 < 1e-3 }.map { $0 * prior.every }, forKey: name)
                shown.append(("\(name): fitted", fit.output))
            }
            record.stepsToFit = steps
        case .inpaint:
            let (h, w) = (image.shape[1], image.shape[2])
            let mask = try Tensor.ones([1, h, w]).clone()
            let (top, left, size) = (h / 3, w / 3, max(1, min(h, w) / 3))
            try mask.slice(dim: 1, start: top, end: top + size).slice(dim: 2, start: left, end: left + size).fillInPlace(0)
            let fit = try prior.fit(image, mask: mask)
            let hidden = try mask.lt(0.5).expanded(to: image.shape)
            let meanFill = try (image * mask).sum(dims: [1, 2], keepDims: true) / mask.sum()
            record.losses["known pixels"] = fit.losses
            record.hiddenError = try (fit.output - image).square().maskedSelect(hidden).mean().item()
            record.meanFillError = try (meanFill.expanded(to: image.shape) - image).square().maskedSelect(hidden).mean().item()
            shown += [("masked", try image * mask), ("inpainted", fit.output)]
        case .denoise:
            let noisy = try (image + Tensor.randn(image.shape, generator: generator) * noise).clamp(min: 0, max: 1)
            let fit = try prior.fit(noisy, reference: image)
            record.losses["noisy image"] = fit.losses
            (record.psnr, record.bestStep) = (fit.psnr, fit.bestStep)
            record.noisyPSNR = try DeepImagePrior.psnr(noisy, image)
            record.bestPSNR = fit.psnr.max()
            record.finalPSNR = fit.psnr.last
            shown += [("noisy", noisy), ("best (early stop)", fit.bestOutput ?? fit.output), ("last", fit.output)]
        case .invert:
            let target = target!
            let inverted = try prior.invert(image, at: target.layer, of: target.model, preprocess: target.preprocess)
            var pixels = RepresentationInversion(target.model, hookPoints: [target.layer])
            (pixels.steps, pixels.totalVariation, pixels.preprocess, pixels.seed) = (prior.steps, target.totalVariation, target.preprocess, seed)
            let plain = try pixels.run(image)
            record.layer = target.layer
            record.losses["deep image prior"] = inverted.losses
            record.priorErrors = InversionErrors(representation: inverted.relativeError, image: inverted.imageError)
            record.totalVariationErrors = InversionErrors(representation: plain.relativeErrors[0], image: plain.imageErrors[0])
            shown += [(String(format: "pixels + %g·TV", target.totalVariation), try plain.images[0]), ("deep image prior", inverted.image)]
        }
        record.seconds = Date().timeIntervalSince(started)
        try JSONFile.write(record, to: "\(out)/dip.json")
        try writePage(record, shown: shown, to: out)
        return record
    }

    static func writePage(_ record: Record, shown: [(String, Tensor)], to out: String) throws {
        var page = HTMLPage(title: "Deep image prior: \(record.task) (\(record.image))")
        page.paragraph("An untrained encoder–decoder with skip connections fitted from a fixed noise code (Ulyanov et al. 2018), Adam, \(record.steps) steps; loss every \(record.every) steps. Seed \(record.seed); \(String(format: "%.1f", record.seconds)) s on \(record.machine).")
        try FileManager.default.createDirectory(atPath: "\(out)/images", withIntermediateDirectories: true)
        let channels = shown.map { $0.1.shape[0] }.max() ?? 1
        let tiles = try shown.map { try $0.1.to(.float32).expanded(to: [channels] + Array($0.1.shape.dropFirst())) }
        try PNG.write(ImageMosaic.render(Tensor.stack(tiles, dim: 0).unsqueezed(dim: 0), scale: max(1, 112 / shown[0].1.shape[2])), to: "\(out)/images/dip.png")
        page.image("images/dip.png", caption: shown.map(\.0).joined(separator: " · "))
        let colours = ["#1f77b4", "#d62728", "#2ca02c"]
        var chart = LineChart(title: record.layer == nil ? "log₁₀ mean squared error" : "log₁₀ squared relative representation error", xLabel: "step", series: record.losses.sorted { $0.key < $1.key }.enumerated().map {
            .init(name: $0.element.key, values: $0.element.value.map { Foundation.log10(max($0, 1e-12)) }, color: colours[$0.offset % colours.count])
        })
        chart.xTicks = (0..<(record.losses.values.first?.count ?? 0)).map { String(min($0 * record.every, record.steps)) }
        page.html(chart.svg())
        if let steps = record.stepsToFit {
            page.table(header: ["target", "first step with MSE below 0.001"], rows: steps.sorted { $0.key < $1.key }.map { [$0.key, $0.value.map(String.init) ?? "not within \(record.steps)"] })
        }
        if let hidden = record.hiddenError, let fill = record.meanFillError {
            page.paragraph(String(format: "Hidden square: MSE %.4f from the network, %.4f filling with the mean of the known pixels.", hidden, fill))
        }
        if let layer = record.layer, let prior = record.priorErrors, let plain = record.totalVariationErrors {
            page.paragraph("Inverting hook point \(layer): the image whose activation there matches the original's, found by optimising pixels under total variation (Mahendran & Vedaldi 2015) or the network's weights (the deep image prior as regulariser, Ulyanov et al. 2018, section 4), the same number of Adam steps. The loss curve is the prior's squared relative representation error.")
            page.table(header: ["regulariser", "representation error", "distance from the image"], rows: [
                ["total variation (pixels)", String(format: "%.3f", plain.representation), String(format: "%.3f", plain.image)],
                ["deep image prior", String(format: "%.3f", prior.representation), String(format: "%.3f", prior.image)],
            ])
        }
        if let noisy = record.noisyPSNR, let best = record.bestPSNR, let last = record.finalPSNR, let psnr = record.psnr {
            page.paragraph(String(format: "PSNR against the clean image: noisy %.2f dB; best %.2f dB at step %d (early stopping); last %.2f dB (the network has begun to fit the noise).", noisy, best, record.bestStep ?? 0, last))
            var curve = LineChart(title: "PSNR against the clean image (dB)", xLabel: "step", series: [.init(name: "output", values: psnr, color: "#1f77b4")])
            curve.xTicks = (0..<psnr.count).map { String(min($0 * record.every, record.steps)) }
            page.html(curve.svg())
        }
        try page.write(to: "\(out)/dip.html")
    }
}
