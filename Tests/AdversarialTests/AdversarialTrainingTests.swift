import NN
import Testing
import TestSupport
import Torch
@testable import Adversarial

@Suite("adversarial training")
struct AdversarialTrainingTests {
    @Test("the ε warm-up ramps linearly, stays at ε after it, and gives the batch back untouched at the start")
    func warmUp() throws {
        let training = AdversarialTraining(method: .pgd, epsilon: 0.3, steps: 3, warmUpEpochs: 4)
        #expect(training.epsilon(afterEpochs: 0) == 0 && abs(training.epsilon(afterEpochs: 1) - 0.075) < 1e-12)
        #expect(training.epsilon(afterEpochs: 4) == 0.3 && training.epsilon(afterEpochs: 9) == 0.3)
        #expect(AdversarialTraining(method: .fgsm, epsilon: 0.3).epsilon(afterEpochs: 0) == 0.3)
        let model = try Architectures.mnistCNN(generator: Generator(seed: 1))
        let x = try Tensor.rand([4, 1, 28, 28], generator: Generator(seed: 2))
        let labels = try Tensor([0, 1, 2, 3], shape: [4])
        #expect(try maxDifference(training.adversarialBatch(x, labels: labels, model: model, generator: Generator(seed: 3), afterEpochs: 0), x) == 0)
        // Halfway through the warm-up the perturbation stays within half of ε.
        let half = try training.adversarialBatch(x, labels: labels, model: model, generator: Generator(seed: 3), afterEpochs: 2)
        #expect(try (half - x).abs().max().item() <= 0.15 + 1e-6)
        #expect(errorMessage { try AdversarialTraining(method: .pgd, epsilon: 0.3, warmUpEpochs: -1).validate() }?.contains("warm-up") == true)
    }
}
