import Evaluation
import Torch

/// SENN's faithfulness check (Alvarez-Melis & Jaakkola 2018, §5): remove each concept
/// (set h(x)ₖ to 0, which with the sum aggregator drops the term θₖ·hₖ), measure how much the
/// predicted class's probability falls, and correlate those drops with the concepts'
/// relevances θ(x)ₖ for that class. Pearson correlation per example; higher is more faithful.
///
/// Removing concept k removes exactly the logit term θₖ·hₖ, so when concepts can be negative
/// the sign of θ alone does not say which way the prediction moves; the correlation of the
/// drops with the contributions θₖ·hₖ is reported too, and is the one to read then.
public enum ConceptFaithfulness {
    /// What the check measured for a batch.
    public struct Result {
        /// (N) Pearson correlation of relevances θₖ and probability drops (the paper's measure).
        public let correlation: Tensor
        /// (N) Pearson correlation of contributions θₖ·hₖ and probability drops.
        public let contributionCorrelation: Tensor
        /// (N, concepts) drop in the predicted class's probability when a concept is removed.
        public let drops: Tensor
        /// (N, concepts) relevance θ(x)ₖ of each concept for the predicted class.
        public let relevances: Tensor
        /// (N) predicted classes.
        public let predicted: Tensor
    }

    /// One forward pass; the concepts × classes removals are a broadcast, not extra passes.
    public static func evaluate(_ model: SENN, inputs: Tensor) throws -> Result {
        try noGrad {
            let output = try model.explain(inputs)
            let predicted = try output.logits.argmax(dim: 1)
            let index = try predicted.reshaped([-1, 1])
            let probability = try output.logits.softmax(dim: 1).gather(dim: 1, index: index)
            // logits without concept k: logits − θₖ·hₖ, for every k at once → (N, concepts, classes).
            let removed = try output.logits.unsqueezed(dim: 1) - output.relevances * output.concepts.unsqueezed(dim: 2)
            let classIndex = try index.unsqueezed(dim: 1).expanded(to: [inputs.shape[0], model.concepts, 1])
            let probabilityWithout = try removed.softmax(dim: 2).gather(dim: 2, index: classIndex).squeezed(dim: 2)
            let drops = try probability - probabilityWithout
            let relevances = try output.relevances.gather(dim: 2, index: classIndex).squeezed(dim: 2)
            return Result(correlation: try Similarity.pearson(relevances, drops),
                          contributionCorrelation: try Similarity.pearson(relevances * output.concepts, drops),
                          drops: drops, relevances: relevances, predicted: predicted)
        }
    }
}
