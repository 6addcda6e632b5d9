import Foundation

/// How much a neuron's activation leaves unknown about which input occurred: the cross-entropy of
/// the best prediction of the input from the activation alone, −Σₓ p(x) log p(x | a(x)), in nats.
/// Inputs that share an activation are confusable: the seed's single-neuron example (one neuron
/// for three equally likely inputs vs for two features) is this number for two codes.
public enum NeuronCode {
    /// `probabilities[i]` of input i and the neuron's `activations[i]` on it.
    public static func crossEntropy(probabilities: [Double], activations: [Double]) -> Double {
        precondition(probabilities.count == activations.count, "one activation per input")
        var groupMass: [Double: Double] = [:]
        for (p, a) in zip(probabilities, activations) { groupMass[a, default: 0] += p }
        return zip(probabilities, activations).reduce(0) { total, pair in
            pair.0 > 0 ? total - pair.0 * Foundation.log(pair.0 / groupMass[pair.1]!) : total
        }
    }

    /// The seed's two cases. Three inputs (and no input), each a quarter of the time, on one neuron
    /// that fires alike for all three: ¾ · (−log ⅓) ≈ 0.82. Two features on one neuron that fires
    /// alike for both: −log ½ ≈ 0.69.
    public static var seedExample: (threeInputs: Double, twoFeatures: Double) {
        (crossEntropy(probabilities: [0.25, 0.25, 0.25, 0.25], activations: [0, 1, 1, 1]),
         crossEntropy(probabilities: [0.5, 0.5], activations: [1, 1]))
    }
}
