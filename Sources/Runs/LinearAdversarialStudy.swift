import Adversarial
import ExplanationCore
import Foundation
import NN
import Torch
import Transparent

/// The linear explanation of adversarial examples (Goodfellow, Shlens & Szegedy 2015, §3): a
/// linear score θᵀx changes by at most ε‖θ‖₁ when every input value moves by at most ε, reached
/// at η = ε·sign(θ); ‖θ‖₁ grows with the dimension, so many imperceptible changes add up to a
/// large one. Measured on logistic regression (L2-penalised, scikit-learn's objective) fitted to
/// two-class data of growing dimension d: features 0.5 ± s/√d·(a fixed random sign per feature)
/// + N(0, 0.1²), clipped to [0, 1], so the classes stay equally far apart (Mahalanobis distance
/// 2s/0.1) and clean accuracy about constant while each feature's signal shrinks. FGSM at ε moves
/// every feature by ε against the margin: its margin drop is measured against ε‖θ‖₁.
public enum LinearAdversarialStudy {
    public struct Row: Codable, Sendable {
        public var dimension: Int
        public var cleanAccuracy: Double
        /// ‖θ‖₁ of the margin direction θ = w₁ − w₀.
        public var weightL1: Double
        /// ε‖θ‖₁: the largest margin change any ‖η‖∞ ≤ ε allows.
        public var bound: Double
        /// FGSM's mean margin drop on the test inputs (below the bound only where clipping to [0, 1] bites).
        public var measuredChange: Double
        /// The mean |margin| of clean test inputs, for scale.
        public var meanMargin: Double
        public var attackedAccuracy: Double
    }

    public struct Record: Codable, Sendable {
        public var epsilon: Double
        public var separation: Double
        public var rows: [Row]
        public var seed: UInt64
        public var machine: String
    }

    public static func run(dimensions: [Int] = [10, 100, 1000, 10_000], epsilon: Double = 0.02, separation: Double = 0.25,
                           samples: Int = 2000, seed: UInt64) throws -> Record {
        guard !dimensions.isEmpty, dimensions.allSatisfy({ (1...100_000).contains($0) }) else { throw TorchError("dimensions must lie in 1…100,000") }
        guard epsilon > 0, epsilon < 0.5 else { throw TorchError("ε must lie in (0, 0.5), got \(epsilon)") }
        var rows: [Row] = []
        for (index, d) in dimensions.enumerated() {
            let generator = Generator(seed: seed &+ UInt64(index))
            let signs = try Tensor.rand([d], generator: generator).gt(0.5).to(.float32) * 2.0 - 1.0
            func draw(_ n: Int) throws -> (Tensor, Tensor) {
                let labels = try Tensor.rand([n], generator: generator).gt(0.5).to(.int64)
                let direction = try (labels.to(.float32) * 2.0 - 1.0).unsqueezed(dim: 1) * signs * (separation / Double(d).squareRoot())
                let x = try (direction + 0.5 + Tensor.randn([n, d], generator: generator) * 0.1).clamp(min: 0, max: 1)
                return (x, labels)
            }
            let (trainX, trainY) = try draw(samples), (testX, testY) = try draw(samples / 4)
            let model = try LogisticRegression.fit(LabelledFeatures(features: trainX, labels: trainY, classes: 2))
            let theta = try model.weights[1] - model.weights[0]
            let classifier = ForwardFunction { try model.logits($0) }
            let adversarial = try FastGradientSignMethod(classifier, epsilon: epsilon).perturb(testX, goal: .misclassify(labels: testY))
            let sign = try testY.to(.float32) * 2.0 - 1.0
            func margins(_ x: Tensor) throws -> Tensor { try (model.logits(x) * Tensor.stack([sign * -1.0, sign], dim: 1)).sum(dims: [1]) }
            let before = try margins(testX), after = try margins(adversarial)
            let weightL1 = try theta.abs().sum().item()
            rows.append(Row(dimension: d, cleanAccuracy: try model.predict(testX).eq(testY).to(.float64).mean().item(), weightL1: weightL1,
                            bound: epsilon * weightL1, measuredChange: try (before - after).to(.float64).mean().item(),
                            meanMargin: try before.abs().to(.float64).mean().item(),
                            attackedAccuracy: try model.predict(adversarial).eq(testY).to(.float64).mean().item()))
            ProgressObserver.report("dimensions", done: index + 1, of: dimensions.count, unit: "fits", status: "d = \(d)")
        }
        return Record(epsilon: epsilon, separation: separation, rows: rows, seed: seed, machine: MachineDescription.current.summary)
    }

    /// The table the command prints.
    public static func table(_ record: Record) -> [[String]] {
        [["d", "clean accuracy", "‖θ‖₁", "bound ε‖θ‖₁", "FGSM margin drop", "drop / bound", "mean |margin|", "accuracy under FGSM"]] + record.rows.map { r in
            ["\(r.dimension)", String(format: "%.1f%%", 100 * r.cleanAccuracy), String(format: "%.1f", r.weightL1), String(format: "%.2f", r.bound),
             String(format: "%.2f", r.measuredChange), String(format: "%.3f", r.measuredChange / r.bound), String(format: "%.2f", r.meanMargin),
             String(format: "%.1f%%", 100 * r.attackedAccuracy)]
        }
    }
}
