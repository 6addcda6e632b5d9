import Attribution
import Evaluation
import ExplanationCore
import Foundation
import Report
import Torch

/// Saliency maps (|∂ logit of the label / ∂ input|) of two models on the same inputs, scored with
/// the evaluation module's metrics: Gini sparseness (Chalasani et al. 2020), entropy complexity
/// (Bhatt et al. 2020) and the Pearson correlation of the map with the input image. Adversarially
/// trained models are reported to have sparser gradients that look like the input (Tsipras et al.
/// 2019, "Robustness may be at odds with accuracy"): this shows whether that holds here.
public struct GradientComparison: Codable, Sendable {
    public struct Scores: Codable, Sendable {
        public var model: String
        public var sparseness: Double, complexity: Double, correlationWithInput: Double
    }

    public var inputs: Int
    public var scores: [Scores]

    /// Saliency of each model on `inputs` at `labels`, with the mean of each score.
    static func compare(_ subjects: [AttackStudy.Subject], inputs: Tensor, labels: Tensor) throws -> (GradientComparison, [Tensor]) {
        var scores: [Scores] = [], maps: [Tensor] = []
        let target = Target.indices(try labels.scalars(as: Int64.self).map { Int($0) })
        for subject in subjects {
            let map = try Saliency(subject.model).attribute(inputs, target: target).values
            let flat = try map.flattened(from: 1)
            scores.append(Scores(model: subject.name, sparseness: try Sparseness.gini(map).mean().item(),
                                 complexity: try Complexity.entropy(map).mean().item(),
                                 correlationWithInput: try Similarity.pearson(flat, inputs.flattened(from: 1)).mean().item()))
            maps.append(map)
        }
        return (GradientComparison(inputs: inputs.shape[0], scores: scores), maps)
    }
}
