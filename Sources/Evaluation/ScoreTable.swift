import ExplanationCore
import Foundation
import NN
import Torch

/// Scores of several attribution methods under several metrics on the same inputs:
/// each method's attributions are computed once and shared by the metrics that need them.
public struct ScoreTable: Codable {
    public struct Cell: Codable {
        public let method: String
        public let metric: String
        public let higherIsBetter: Bool
        /// One score per example.
        public let values: [Double]
        /// Time the metric took (attributions excluded).
        public let seconds: Double

        public init(method: String, metric: String, higherIsBetter: Bool, values: [Double], seconds: Double) {
            self.method = method
            self.metric = metric
            self.higherIsBetter = higherIsBetter
            self.values = values
            self.seconds = seconds
        }

        public var mean: Double { values.reduce(0, +) / Double(max(values.count, 1)) }
        public var standardDeviation: Double {
            guard values.count > 1 else { return 0 }
            let m = mean
            return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        }
    }

    public var cells: [Cell] = []
    public var examples: Int
    /// Index of this table's first example in the whole set (for shards).
    public var firstExample = 0

    /// Computes every metric for every method, reporting each cell to the progress observer.
    public init(methods: [(String, AttributionMethod)], metrics: [ExplanationMetric], inputs: Tensor, target: Target) throws {
        examples = inputs.shape[0]
        for (name, method) in methods {
            let attributions = try ProgressObserver.quietly { try method.attribute(inputs, target: target).values }
            for metric in metrics {
                let metricStarted = Date()
                let scores = try ProgressObserver.quietly { try metric.score(method, inputs: inputs, target: target, attributions: attributions) }
                cells.append(Cell(method: name, metric: metric.name, higherIsBetter: metric.higherIsBetter,
                                  values: try scores.to(.float64).scalars(as: Double.self),
                                  seconds: Date().timeIntervalSince(metricStarted)))
                ProgressObserver.report("scoring", done: cells.count, of: methods.count * metrics.count, unit: "cells",
                                        status: "\(name) / \(metric.name)")
            }
        }
    }

    /// Joins shard tables (same methods and metrics) in the order of their first examples.
    public static func merge(_ tables: [ScoreTable]) throws -> ScoreTable {
        guard var merged = tables.min(by: { $0.firstExample < $1.firstExample }) else { throw TorchError("nothing to merge") }
        let ordered = tables.sorted { $0.firstExample < $1.firstExample }
        for table in ordered where Set(table.cells.map { "\($0.method)/\($0.metric)" }) != Set(merged.cells.map { "\($0.method)/\($0.metric)" }) {
            throw TorchError("shards disagree on methods or metrics (shard at example \(table.firstExample)); score them with the same --methods and --metrics")
        }
        var expected = merged.firstExample
        for table in ordered {
            guard table.firstExample == expected else {
                throw TorchError("shards leave a gap or overlap at example \(expected) (next shard starts at \(table.firstExample))")
            }
            expected += table.examples
        }
        merged.cells = merged.cells.map { cell in
            let parts = ordered.map { $0.cell(method: cell.method, metric: cell.metric)! }
            return Cell(method: cell.method, metric: cell.metric, higherIsBetter: cell.higherIsBetter,
                        values: parts.flatMap(\.values), seconds: parts.map(\.seconds).reduce(0, +))
        }
        merged.examples = ordered.map(\.examples).reduce(0, +)
        return merged
    }

    public func cell(method: String, metric: String) -> Cell? {
        cells.first { $0.method == method && $0.metric == metric }
    }

    public var methods: [String] { cells.map(\.method).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
    public var metrics: [String] { cells.map(\.metric).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }

    /// A plain-text table of means (± standard deviation), arrows saying which way is better.
    public func text() -> String {
        let header = ["method"] + metrics.map { name in
            let up = cells.first { $0.metric == name }?.higherIsBetter ?? true
            return name + (up ? " ↑" : " ↓")
        }
        let rows = methods.map { method in
            [method] + metrics.map { metric in
                cell(method: method, metric: metric).map { String(format: "%.3g ± %.2g", $0.mean, $0.standardDeviation) } ?? "-"
            }
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// The metrics `glassbox score` offers, by name, with their defaults.
public enum MetricCatalog {
    public static let names = ["faithfulness-correlation", "ablation-faithfulness", "infidelity", "max-sensitivity", "avg-sensitivity", "local-lipschitz",
                               "deletion", "insertion", "monotonicity", "completeness", "non-sensitivity", "input-invariance", "sparseness", "complexity"]

    /// The metrics that apply to any model (input invariance needs an unpadded first layer).
    public static var defaultNames: [String] { names.filter { $0 != "input-invariance" } }

    public static func metric(named name: String, seed: UInt64, featureCount: Int) throws -> ExplanationMetric {
        switch name {
        case "faithfulness-correlation": return FaithfulnessCorrelation(runs: 50, subsetSize: max(1, featureCount / 20), seed: seed)
        case "ablation-faithfulness": return AblationFaithfulness()
        case "infidelity": return Infidelity(samples: 10, standardDeviation: 0.003, seed: seed)
        case "max-sensitivity": return Sensitivity(.max, samples: 5, radius: 0.02, seed: seed)
        case "avg-sensitivity": return Sensitivity(.average, samples: 5, radius: 0.02, seed: seed)
        case "local-lipschitz": return LocalLipschitz(samples: 5, radius: 0.1, seed: seed)
        case "deletion": return DeletionInsertion(.deletion)
        case "insertion": return DeletionInsertion(.insertion)
        case "monotonicity": return Monotonicity()
        case "completeness": return Completeness()
        case "non-sensitivity": return NonSensitivity()
        case "input-invariance": return InputInvariance()
        case "sparseness": return Sparseness()
        case "complexity": return Complexity()
        default: throw TorchError("unknown metric '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }
}
