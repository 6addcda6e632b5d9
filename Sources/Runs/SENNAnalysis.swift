import ExplanationCore
import Attribution
import Concepts
import Evaluation
import Foundation
import NN
import Torch

/// Stability (local Lipschitz) of one explanation method: the median over examples, raw and
/// relative to the explanation's own norm (so methods with different units compare).
public struct StabilityRow: Codable, Sendable {
    public var method: String
    public var model: String
    public var medianLipschitz: Double
    public var medianRelativeLipschitz: Double
}

/// One λ of the robustness sweep.
public struct SweepRow: Codable, Sendable {
    public var robustness: Double
    /// Accuracy and median gradient-ascent Lipschitz estimate on the validation split: what λ is
    /// chosen by. Nil for a refit, which trained on those examples.
    public var validationAccuracy: Double?
    public var validationMedianLipschitz: Double?
    public var testAccuracy: Double
    /// Median over the evaluated test examples of the gradient-ascent Lipschitz estimate of θ(x).
    public var medianLipschitz: Double
    /// Median of the estimate as the authors' code computes it (`SENNAnalysis.boxLipschitz`).
    public var medianBoxLipschitz: Double
    /// Mean correlation of probability drops with θ (the paper's) and with the contributions θ·h.
    public var meanFaithfulness: Double
    public var meanContributionFaithfulness: Double
    public var trainSeconds: Double
}

/// Settings of the local Lipschitz estimates; one place so every report uses the same ones.
public struct StabilitySettings: Codable, Sendable {
    public var examples = 50
    public var samples = 10
    public var steps = 10
    public var radius = 0.1
    public var seed: UInt64 = 0

    public init(examples: Int = 50, samples: Int = 10, steps: Int = 10, radius: Double = 0.1, seed: UInt64 = 0) {
        (self.examples, self.samples, self.steps, self.radius, self.seed) = (examples, samples, steps, radius, seed)
    }
}

public enum SENNAnalysis {
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// SENN's estimate (Alvarez-Melis & Jaakkola 2018, §4): gradient ascent on
    /// ‖θ(x′) − θ(x)‖ / ‖x′ − x‖ over the L∞ ball, all classes' relevances together.
    public static func ascentLipschitz(_ senn: SENN, inputs: Tensor, settings: StabilitySettings, inConceptSpace: Bool = false) throws -> [Double] {
        let metric = LocalLipschitz(samples: settings.samples, radius: settings.radius, seed: settings.seed)
        return try metric.gradientAscent({ try senn.explain($0).relevances }, inputs: inputs, steps: settings.steps,
                                         representation: inConceptSpace ? { try senn.conceptizer($0) } : nil)
            .scalars(as: Double.self)
    }

    /// The estimate as the authors' released code computes it for their MNIST figure
    /// (robust_interpret's `local_lipschitz_estimate` with `bound_type='box_std'`, eps 0.01 and
    /// 10 black-box calls, which are all random draws): points uniformly in the box x ± 0.01·σ,
    /// σ each pixel's standard deviation over the training images (at least 0.001 of the
    /// overall one), clipped to the data's range; θ of the predicted class; the largest ratio.
    public static func boxLipschitz(_ senn: SENN, inputs: Tensor, training: Tensor, settings: StabilitySettings) throws -> [Double] {
        let n = inputs.shape[0], featureShape = Array(inputs.shape.dropFirst())
        let overall = try training.std().item()
        let pixelScale = try training.std(dims: [0]).clamp(min: 0.001 * overall) * 0.01
        let draw = try Tensor.rand([n * settings.samples] + featureShape, dtype: inputs.dtype, generator: Generator(seed: settings.seed)) * 2.0 - 1.0
        let centres = try inputs.repeatingRows(settings.samples)
        let (low, high) = (try training.min().item(), try training.max().item())
        var metric = LocalLipschitz(samples: settings.samples, seed: settings.seed)
        metric.noise = try (centres + draw * pixelScale).clamp(min: low, max: high) - centres
        return try metric.score(SENNRelevances(senn), inputs: inputs, target: .predicted, attributions: nil).scalars(as: Double.self)
    }

    /// The sampling estimate for any attribution method (the same perturbations for all), for the predicted class.
    public static func samplingStability(_ method: AttributionMethod, label: String, model: String, inputs: Tensor,
                                  settings: StabilitySettings) throws -> StabilityRow {
        let metric = LocalLipschitz(samples: settings.samples, radius: settings.radius, seed: settings.seed)
        let explanation = try method.attribute(inputs, target: .predicted).values
        // Metrics accept precomputed maps only in input space; concept-space explanations are recomputed (cheap for SENN).
        let scores = try metric.score(method, inputs: inputs, target: .predicted,
                                      attributions: explanation.shape == inputs.shape ? explanation : nil)
        let norms = try explanation.reshaped([inputs.shape[0], -1]).norm(dims: [1]).to(.float64).clamp(min: 1e-12)
        return StabilityRow(method: label, model: model, medianLipschitz: median(try scores.scalars(as: Double.self)),
                            medianRelativeLipschitz: median(try (scores / norms).scalars(as: Double.self)))
    }

    /// SENN's relevances next to post-hoc methods on a plain CNN (the paper's comparison).
    public static func compare(senn: SENN, cnn: Explainable?, inputs: Tensor, settings: StabilitySettings) throws -> [StabilityRow] {
        let total = cnn == nil ? 1 : 5
        var rows = [try samplingStability(SENNRelevances(senn), label: "SENN relevances θ(x)", model: "SENN", inputs: inputs, settings: settings)]
        ProgressObserver.report("stability", done: 1, of: total, unit: "methods", status: "SENN")
        guard let cnn else { return rows }
        let featureShape = Array(inputs.shape.dropFirst())
        for (index, name) in ["saliency", "integrated-gradients", "lime", "occlusion"].enumerated() {
            let method = try MethodCatalog.method(named: name, model: cnn, featureShape: featureShape, settings: MethodSettings(seed: settings.seed))
            rows.append(try ProgressObserver.quietly { try samplingStability(method, label: name, model: "CNN", inputs: inputs, settings: settings) })
            ProgressObserver.report("stability", done: index + 2, of: total, unit: "methods", status: name)
        }
        return rows
    }

    /// Trains one SENN per λ with otherwise equal settings; accuracy, stability and faithfulness for each.
    public static func sweep(_ lambdas: [Double], options: SENNTrainingOptions, data: SENNData, seed: UInt64,
                      settings: StabilitySettings, keep: (Double, SENN, SENNMetrics) throws -> Void = { _, _, _ in }) throws -> [SweepRow] {
        let inputs = try data.testInputs.slice(dim: 0, start: 0, end: min(settings.examples, data.testLabels.count))
        let validation = try data.validationInputs.slice(dim: 0, start: 0, end: min(settings.examples, data.validationLabels.count))
        var rows: [SweepRow] = []
        let observer = ProgressObserver.current
        var epochsDone = 0
        for lambda in lambdas {
            var run = options
            run.robustness = lambda
            let (model, metrics) = try ProgressObserver.quietly {
                try SENNRun.train(run, data: data, seed: seed, out: nil) { epoch in
                    epochsDone += 1
                    observer?.report("λ sweep", done: epochsDone, of: lambdas.count * options.epochCount, unit: "epochs",
                                     status: String(format: "λ %g, epoch %d, test acc %.1f%%", lambda, epoch.epoch, 100 * epoch.testAccuracy))
                }
            }
            let lipschitz = median(try ascentLipschitz(model, inputs: inputs, settings: settings))
            let box = median(try boxLipschitz(model, inputs: inputs, training: data.trainInputs, settings: settings))
            let faithfulness = try ConceptFaithfulness.evaluate(model, inputs: inputs)
            let validationLipschitz = data.validationHeldOut ? median(try ascentLipschitz(model, inputs: validation, settings: settings)) : nil
            rows.append(SweepRow(robustness: lambda, validationAccuracy: metrics.validationAccuracy, validationMedianLipschitz: validationLipschitz,
                                 testAccuracy: metrics.testAccuracy, medianLipschitz: lipschitz, medianBoxLipschitz: box,
                                 meanFaithfulness: try faithfulness.correlation.mean().item(),
                                 meanContributionFaithfulness: try faithfulness.contributionCorrelation.mean().item(),
                                 trainSeconds: metrics.trainSeconds))
            var validationText = "refit on all training data: "
            if let accuracy = metrics.validationAccuracy, let validationLipschitz {
                validationText = String(format: "validation accuracy %.2f%%, Lipschitz %.4g; ", 100 * accuracy, validationLipschitz)
            }
            ProgressObserver.note(String(format: "λ = %g: %@test accuracy %.2f%%  median Lipschitz %.4g (authors' protocol %.4g)  faithfulness θ %.3f, θ·h %.3f  (%.0f s)",
                         lambda, validationText, 100 * metrics.testAccuracy, lipschitz, box, rows.last!.meanFaithfulness, rows.last!.meanContributionFaithfulness,
                         metrics.trainSeconds))
            try keep(lambda, model, metrics)
        }
        return rows
    }

    /// The chosen row: the lowest validation Lipschitz estimate among λ > 0 whose validation accuracy is
    /// within `tolerance` of the sweep's best; the most accurate on validation when none qualifies.
    /// The test set plays no part, so its numbers stay an unbiased report.
    public static func tuned(_ rows: [SweepRow], tolerance: Double = 0.015) -> SweepRow? {
        let scored = rows.compactMap { row -> (row: SweepRow, accuracy: Double, lipschitz: Double)? in
            guard let accuracy = row.validationAccuracy, let lipschitz = row.validationMedianLipschitz else { return nil }
            return (row, accuracy, lipschitz)
        }
        guard let best = scored.map(\.accuracy).max() else { return nil }
        return (scored.filter { $0.row.robustness > 0 && $0.accuracy >= best - tolerance }.min { $0.lipschitz < $1.lipschitz }
            ?? scored.max { $0.accuracy < $1.accuracy })?.row
    }

    /// A sweep with the usual protocol: λ chosen on the validation split (`tuned`), then λ = 0 and
    /// the chosen λ retrained on all training examples, validation included, for the reported numbers.
    public struct Choice {
        public var sweep: [SweepRow]
        public var chosen: Double
        /// λ = 0 and the chosen λ after the refit (the same row when λ = 0 is chosen).
        public var baseline: SweepRow, refit: SweepRow
        public var models: [Double: (model: SENN, metrics: SENNMetrics)]
    }

    public static func choose(_ lambdas: [Double], options: SENNTrainingOptions, data: SENNData, seed: UInt64,
                       settings: StabilitySettings) throws -> Choice {
        let sweep = try self.sweep(lambdas, options: options, data: data, seed: seed, settings: settings)
        guard let chosen = tuned(sweep)?.robustness else { throw TorchError("the λ sweep is empty") }
        ProgressObserver.note(chosen == 0 ? "λ 0 chosen on the validation split; retraining it on all training examples"
              : String(format: "λ %g chosen on the validation split; retraining λ = 0 and λ = %g on all training examples", chosen, chosen))
        var models: [Double: (model: SENN, metrics: SENNMetrics)] = [:]
        let refit = try self.sweep(chosen == 0 ? [0] : [0, chosen], options: options, data: data.refitting(), seed: seed, settings: settings) {
            models[$0] = ($1, $2)
        }
        return Choice(sweep: sweep, chosen: chosen, baseline: refit[0], refit: refit[refit.count - 1], models: models)
    }
}
