import Adversarial
import ExplanationCore
import Foundation
import NN
import Testing
import TestSupport
import Torch

/// Properties every attack must have, on small models with known answers.
@Suite("attack properties")
struct AttackPropertyTests {
    /// A linear two-class model on 20 features: logits (w·x, 0).
    static func linear() throws -> (ForwardFunction, Tensor) {
        let w = try Tensor.randn([20], generator: Generator(seed: 3))
        let model = ForwardFunction { x in try Tensor.stack([(x * w).sum(dims: [1]), (x * 0.0).sum(dims: [1])], dim: 1) }
        return (model, w)
    }

    @Test("FGSM on a linear model moves every value by ε against its weight's sign: the change of w·x is ε‖w‖₁")
    func fgsmOnLinearModel() throws {
        let (model, w) = try Self.linear()
        let x = try Tensor.full([3, 20], value: 0.5)
        let labels = try Tensor([Int64](repeating: 0, count: 3), shape: [3])
        let adversarial = try FastGradientSignMethod(model, epsilon: 0.1).perturb(x, goal: .misclassify(labels: labels))
        #expect(try maxDifference(adversarial - x, try w.sign().expanded(to: [3, 20]) * -0.1) < 1e-7)
        let change = try ((x - adversarial) * w).sum(dims: [1])
        #expect(try maxDifference(change, try Tensor.full([3], value: try w.abs().sum().item() * 0.1)) < 1e-5)
    }

    @Test("every attack stays in the valid range and its ball, targeted or not")
    func constraintsHold() throws {
        let model = Sequential([Flatten(), try Linear(16, 32, generator: Generator(seed: 1)), ReLU(), try Linear(32, 5, generator: Generator(seed: 2))])
        model.eval()
        let x = try Tensor.rand([8, 1, 4, 4], generator: Generator(seed: 4))
        let labels = try noGrad { try model(x).argmax(dim: 1) }
        for goal in [AttackGoal.misclassify(labels: labels), .reach(classes: try (labels + 1).remainder(5))] {
            let linf: [(AdversarialAttack, Double)] = [
                (FastGradientSignMethod(model, epsilon: 0.2), 0.2),
                (BasicIterativeMethod(model, epsilon: 0.2, stepSize: 0.05, steps: 10), 0.2),
                (ProjectedGradientDescent(model, epsilon: 0.2, steps: 10), 0.2),
            ]
            for (attack, epsilon) in linf {
                let adversarial = try attack.perturb(x, goal: goal)
                #expect(try adversarial.min().item() >= 0 && adversarial.max().item() <= 1)
                #expect(try perturbationNorms(adversarial, from: x).lInfinity.max().item() <= epsilon + 1e-6, "\(type(of: attack))")
            }
            let l2 = try ProjectedGradientDescent(model, norm: .l2, epsilon: 0.5, steps: 10).perturb(x, goal: goal)
            #expect(try l2.min().item() >= 0 && l2.max().item() <= 1)
            #expect(try perturbationNorms(l2, from: x).l2.max().item() <= 0.5 + 1e-5)
            let cw = try CarliniWagnerL2(model, constant: 5, steps: 30, searchSteps: 3).perturb(x, goal: goal)
            #expect(try cw.min().item() >= 0 && cw.max().item() <= 1)
        }
    }

    @Test("Carlini–Wagner's binary search finds smaller perturbations than a large fixed c")
    func binarySearchShrinksPerturbations() throws {
        let (model, _) = try Self.linear()
        let x = try Tensor.rand([6, 20], generator: Generator(seed: 5)) * 0.5 + 0.25
        let labels = try noGrad { try model(x).argmax(dim: 1) }
        let fixed = try CarliniWagnerL2(model, constant: 100, steps: 200, learningRate: 0.05).perturb(x, goal: .misclassify(labels: labels))
        let searched = try CarliniWagnerL2(model, constant: 100, steps: 200, learningRate: 0.05, searchSteps: 6).perturb(x, goal: .misclassify(labels: labels))
        for adversarial in [fixed, searched] {
            #expect(try noGrad { try model(adversarial).argmax(dim: 1).ne(labels).sum().itemInt() } == 6)
        }
        #expect(try perturbationNorms(searched, from: x).l2.sum().item() < perturbationNorms(fixed, from: x).l2.sum().item())
    }

    @Test("PGD with the same seed gives the same examples; another seed, other ones")
    func seeded() throws {
        let (model, _) = try Self.linear()
        let x = try Tensor.rand([4, 20], generator: Generator(seed: 6))
        let labels = try Tensor([Int64](repeating: 1, count: 4), shape: [4])
        var attack = ProjectedGradientDescent(model, epsilon: 0.05, steps: 1, stepSize: 0.001)
        let first = try attack.perturb(x, goal: .misclassify(labels: labels))
        #expect(try maxDifference(first, attack.perturb(x, goal: .misclassify(labels: labels))) == 0)
        attack.seed = 1
        #expect(try maxDifference(first, attack.perturb(x, goal: .misclassify(labels: labels))) > 0)
    }

    @Test("bad inputs and goals are refused with a clear message")
    func refusals() throws {
        let (model, _) = try Self.linear()
        let x = try Tensor.full([2, 20], value: 0.5), labels = try Tensor([Int64(0), 1], shape: [2])
        let fgsm = FastGradientSignMethod(model, epsilon: 0.1)
        #expect(errorMessage { _ = try fgsm.perturb(x * 3.0, goal: .misclassify(labels: labels)) }?.contains("outside the valid range") == true)
        #expect(errorMessage { _ = try fgsm.perturb(x.maskedFill(x.gt(0), with: .nan), goal: .misclassify(labels: labels)) }?.contains("NaN") == true)
        #expect(errorMessage { _ = try fgsm.perturb(x, goal: .misclassify(labels: try Tensor([Int64(0)], shape: [1]))) }?.contains("one int64 class per input") == true)
        #expect(errorMessage { _ = try fgsm.perturb(x, goal: .reach(classes: try Tensor([Int64(0), 7], shape: [2]))) }?.contains("0..<2") == true)
        #expect(errorMessage { _ = try FastGradientSignMethod(model, epsilon: -1).perturb(x, goal: .misclassify(labels: labels)) }?.contains("ε ≥ 0") == true)
        #expect(errorMessage { _ = try ProjectedGradientDescent(model, epsilon: 0.1, steps: 0).perturb(x, goal: .misclassify(labels: labels)) }?.contains("at least 1 step") == true)
    }
}
