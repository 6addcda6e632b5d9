import Foundation
import Testing
import TestSupport
import ExplanationCore
@testable import Concepts
import Attribution
import Datasets
import NN
import Torch

/// θ that ignores its input: a learned (concepts · classes) vector repeated per example.
final class ConstantRelevances: Module {
    let values: Tensor

    init(_ values: Tensor) throws {
        self.values = try values.requiringGrad()
    }

    override var localParameters: [(name: String, tensor: Tensor)] { [("values", values)] }

    override func forward(_ x: Tensor) throws -> Tensor {
        try values.unsqueezed(dim: 0).expanded(to: [x.shape[0], values.count])
    }
}

@Suite("SENN")
struct SENNTests {
    @Test("with identity concepts, logits are Σ θ·x per class and the explanation has the right shapes")
    func forwardIsLinearInConcepts() throws {
        let g = Generator(seed: 1)
        let senn = SENN(conceptizer: InputFeatures(), parametrizer: Sequential([try Linear(4, 12, generator: g), Activation(.tanh)]),
                        concepts: 4, classes: 3)
        let x = try Tensor.randn([5, 4], generator: g)
        let output = try senn.explain(x)
        #expect(output.relevances.shape == [5, 4, 3])
        let expected = try (output.relevances * x.unsqueezed(dim: 2)).sum(dims: [1])
        #expect(try maxDifference(output.logits, expected) < 1e-6)
        #expect(senn.namedParameters().map(\.name) == ["parametrizer.0.weight", "parametrizer.0.bias"])
    }

    @Test("the robustness loss is zero when θ does not depend on x and positive when it does")
    func robustnessLossVanishesForLinearModels() throws {
        let x = try Tensor.randn([6, 4], generator: Generator(seed: 2))
        let constant = SENN(conceptizer: InputFeatures(), parametrizer: try ConstantRelevances(Tensor.randn([8], generator: Generator(seed: 3))),
                            concepts: 4, classes: 2)
        #expect(try constant.robustnessLoss(x).item() < 1e-6)
        let varying = SENN(conceptizer: InputFeatures(), parametrizer: Sequential([try Linear(4, 8, generator: Generator(seed: 4)), Activation(.tanh)]),
                           concepts: 4, classes: 2)
        #expect(try varying.robustnessLoss(x).item() > 1e-3)
    }

    @Test("the projected robustness loss is the mean of ‖vᵀ(∇f − θᵀJh)‖ for the drawn class directions v, and trains θ")
    func projectedRobustnessLoss() throws {
        let g = Generator(seed: 21)
        let autoencoder = ConceptAutoencoder(encoder: Sequential([try Linear(5, 3, generator: g), Activation(.tanh)]),
                                             decoder: Sequential([try Linear(3, 5, generator: g)]))
        let senn = SENN(conceptizer: autoencoder, parametrizer: Sequential([try Linear(5, 12, generator: g), Activation(.tanh)]),
                        concepts: 3, classes: 4)
        let x = try Tensor.randn([6, 5], generator: g)
        // The same directions the loss draws, and the residual matrices D built one row at a time.
        let v = try Tensor.randn([6, 4], generator: Generator(seed: 22))
        let input = try x.requiringGrad()
        let output = try senn.explain(input)
        func rows(_ t: Tensor, _ count: Int) throws -> Tensor {
            try Tensor.stack((0..<count).map { try Tensor.grad(of: t.select(dim: 1, index: $0).sum(), wrt: input, retainGraph: true) }, dim: 1)
        }
        let residual = try rows(output.logits, 4) - output.relevances.transposed(1, 2).matmul(rows(output.concepts, 3))
        let expected = try v.unsqueezed(dim: 1).matmul(residual).squeezed(dim: 1).norm(dims: [1]).mean().item()
        let projected = try senn.robustnessLoss(x, directions: Generator(seed: 22))
        #expect(try abs(projected.item() - expected) / expected < 1e-5)
        // E‖vᵀD‖² = ‖D‖²_F: many draws approach the exact loss's square.
        let squares = try (0..<400).map { try senn.robustnessLoss(x[0..<1], directions: Generator(seed: UInt64(100 + $0))).item() }.map { $0 * $0 }
        let exactSquare = Foundation.pow(try senn.robustnessLoss(x[0..<1]).item(), 2)
        #expect(abs(squares.reduce(0, +) / 400 - exactSquare) / exactSquare < 0.15)
        try projected.backward()
        #expect(try senn.parametrizer.parameters.allSatisfy { try $0.grad.map { try $0.abs().max().item() > 0 } == true })
    }

    @Test("the robustness loss differentiates through the input gradients to θ's parameters (double backprop)")
    func robustnessLossTrainsParametrizer() throws {
        let linear = try Linear(4, 8, generator: Generator(seed: 5))
        let senn = SENN(conceptizer: InputFeatures(), parametrizer: Sequential([linear, Activation(.tanh)]), concepts: 4, classes: 2)
        let x = try Tensor.randn([6, 4], generator: Generator(seed: 6))
        let optimizer = Adam(senn.parameters, learningRate: 0.05)
        let first = try senn.robustnessLoss(x).item()
        for _ in 0..<40 {
            try senn.zeroGrad()
            let loss = try senn.robustnessLoss(x)
            try loss.backward()
            #expect(try linear.weight.grad.map { try $0.allFinite() && $0.abs().max().item() > 0 } == true)
            try optimizer.step()
        }
        // Minimising L_θ alone pushes θ towards constant: the loss must fall a lot.
        #expect(try senn.robustnessLoss(x).item() < first * 0.5)
    }

    @Test("the relevance-Jacobian penalty is ‖W‖_F for a linear θ = Wx, its projection is ‖vᵀW‖, and it vanishes for constant θ")
    func relevanceJacobianPenalty() throws {
        let linear = try Linear(4, 8, generator: Generator(seed: 31))
        let senn = SENN(conceptizer: InputFeatures(), parametrizer: linear, concepts: 4, classes: 2)
        let x = try Tensor.randn([5, 4], generator: Generator(seed: 32))
        let frobenius = try linear.weight.norm().item()
        #expect(try abs(senn.relevanceJacobianPenalty(x).item() - frobenius) / frobenius < 1e-5)
        let v = try Tensor.randn([5, 4, 2], generator: Generator(seed: 33)).reshaped([5, 8])
        let expected = try v.matmul(linear.weight).norm(dims: [1]).mean().item()
        let projected = try senn.relevanceJacobianPenalty(x, directions: Generator(seed: 33))
        #expect(try abs(projected.item() - expected) / expected < 1e-5)
        try projected.backward()
        #expect(try linear.weight.grad.map { try $0.abs().max().item() > 0 } == true)
        let constant = SENN(conceptizer: InputFeatures(), parametrizer: try ConstantRelevances(Tensor.randn([8], generator: Generator(seed: 34))),
                            concepts: 4, classes: 2)
        #expect(try constant.relevanceJacobianPenalty(x, directions: Generator(seed: 35)).item() < 1e-6)
    }

    @Test("for θ = tanh(Wx) the relevance-Jacobian penalty is taken before the tanh: ‖W‖_F even where θ saturates")
    func relevanceJacobianPenaltyBeforeTanh() throws {
        let linear = try Linear(4, 8, generator: Generator(seed: 36))
        try noGrad { try linear.weight.multiplyInPlace(by: 50) }
        let senn = SENN(conceptizer: InputFeatures(), parametrizer: Sequential([linear, Activation(.tanh)]), concepts: 4, classes: 2)
        let x = try Tensor.randn([5, 4], generator: Generator(seed: 37))
        // Saturated: θ's own Jacobian is far smaller than W's.
        let theta = try senn.explain(x).relevances
        #expect(try (1.0 - theta.square()).mean().item() < 0.2)
        let frobenius = try linear.weight.norm().item()
        #expect(try abs(senn.relevanceJacobianPenalty(x).item() - frobenius) / frobenius < 1e-5)
    }

    @Test("shape mistakes in the sub-networks are reported")
    func shapeErrors() throws {
        let senn = SENN(conceptizer: InputFeatures(), parametrizer: try Linear(4, 5), concepts: 4, classes: 2)
        #expect(errorMessage { _ = try senn(Tensor.zeros([2, 4])) }?.contains("expected (2, 8)") == true)
    }
}

@Suite("SENN training")
struct SENNTrainingTests {
    @Test("all four terms enter the objective and a small SENN learns a two-class rule with them")
    func trainsWithFullObjective() throws {
        let g = Generator(seed: 7)
        let x = try Tensor.randn([128, 6], generator: g)
        let y = try (x.select(dim: 1, index: 0) - x.select(dim: 1, index: 1)).gt(0).to(.int64)
        let autoencoder = ConceptAutoencoder(encoder: Sequential([try Linear(6, 3, generator: g)]), decoder: Sequential([try Linear(3, 6, generator: g)]))
        let senn = SENN(conceptizer: autoencoder, parametrizer: Sequential([try Linear(6, 6, generator: g), Activation(.tanh)]), concepts: 3, classes: 2)
        let objective = SENNObjective(robustness: 1e-2, reconstruction: 1, sparsity: 1e-3)
        let (terms, _) = try objective.evaluate(senn, inputs: x, targets: y, generator: Generator(seed: 8))
        #expect(terms.robustness > 0 && terms.reconstruction > 0 && terms.sparsity > 0)
        let parts = terms.classification + 1e-2 * terms.robustness + terms.reconstruction + 1e-3 * terms.sparsity
        #expect(try abs(terms.total.item() - parts) < 1e-5)
        let trainer = Trainer(model: senn, optimizer: Adam(senn.parameters, learningRate: 0.02))
        trainer.objective = { inputs, targets, generator in
            let (terms, logits) = try objective.evaluate(senn, inputs: inputs, targets: targets, generator: generator)
            return (terms.total, logits)
        }
        trainer.batchSize = 32
        let history = try trainer.fit(inputs: x, targets: y, epochs: 30)
        #expect(history.last!.accuracy > 0.9)
    }
}

@Suite("SENN on MNIST shapes, and prototypes")
struct MNISTSENNTests {
    @Test("the authors' MNIST architectures give logits, concepts, relevances and a 28×28 reconstruction")
    func shapes() throws {
        let senn = try MNISTSENN.model(concepts: 5, generator: Generator(seed: 1))
        senn.eval()
        let x = try Tensor.rand([2, 1, 28, 28], generator: Generator(seed: 2))
        let output = try senn.explain(x)
        #expect(output.logits.shape == [2, 10] && output.concepts.shape == [2, 5] && output.relevances.shape == [2, 5, 10])
        let autoencoder = try #require(senn.conceptizer as? ConceptAutoencoder)
        #expect(try autoencoder.reconstruct(concepts: output.concepts, like: x).shape == [2, 1, 28, 28])
        #expect(try senn.robustnessLoss(x).item() > 0)
        let nonnegative = try MNISTSENN.model(concepts: 5, nonnegativeConcepts: true, generator: Generator(seed: 1))
        #expect(try nonnegative.explain(x).concepts.min().item() > 0)
        #expect(nonnegative.namedParameters().map(\.name) == senn.namedParameters().map(\.name))
    }

    @Test("prototypes pick the strongest activations and spread across levels")
    func prototypes() throws {
        let activations = try Tensor([0, 5, 1, 4, 2, 3, 3, 2, 4, 1, 5, 0] as [Float], shape: [6, 2])
        #expect(try ConceptPrototypes.strongest(activations, count: 2) == [[5, 4], [0, 1]])
        #expect(try ConceptPrototypes.acrossLevels(activations, count: 3) == [[0, 2, 5], [5, 3, 0]])
        #expect(errorMessage { _ = try ConceptPrototypes.strongest(activations, count: 9) } != nil)
    }
}

@Suite("SENN evaluation")
struct SENNEvaluationTests {
    func smallSENN() throws -> SENN {
        let g = Generator(seed: 31)
        let autoencoder = ConceptAutoencoder(encoder: Sequential([try Linear(6, 4, generator: g)]), decoder: Sequential([try Linear(4, 6, generator: g)]))
        return SENN(conceptizer: autoencoder, parametrizer: Sequential([try Linear(6, 12, generator: g), Activation(.tanh)]), concepts: 4, classes: 3)
    }

    @Test("concept removal drops equal the probabilities recomputed with h_k set to zero and θ(x) kept")
    func faithfulnessDropsAreRemovals() throws {
        let senn = try smallSENN()
        let x = try Tensor.randn([5, 6], generator: Generator(seed: 32))
        let result = try ConceptFaithfulness.evaluate(senn, inputs: x)
        let output = try noGrad { try senn.explain(x) }
        let predicted = try output.logits.argmax(dim: 1).scalars(as: Int64.self).map(Int.init)
        #expect(try result.predicted.scalars(as: Int64.self).map(Int.init) == predicted)
        for k in 0..<4 {
            let keep = try Tensor((0..<4).map { Float($0 == k ? 0 : 1) }).unsqueezed(dim: 0)
            let logits = try (output.relevances * (output.concepts * keep).unsqueezed(dim: 2)).sum(dims: [1])
            for (row, c) in predicted.enumerated() {
                let expected = try output.logits.softmax(dim: 1)[row][c].item() - logits.softmax(dim: 1)[row][c].item()
                #expect(try abs(result.drops[row][k].item() - expected) < 1e-6)
                #expect(try abs(result.relevances[row][k].item() - output.relevances[row][k][c].item()) < 1e-7)
            }
        }
        let correlations = try result.correlation.scalars(as: Double.self) + result.contributionCorrelation.scalars(as: Double.self)
        #expect(correlations.allSatisfy { $0 >= -1 - 1e-9 && $0 <= 1 + 1e-9 })
    }

    @Test("SENN relevances as an attribution method are θ(x) of the target class")
    func relevancesAsAttribution() throws {
        let senn = try smallSENN()
        let x = try Tensor.randn([3, 6], generator: Generator(seed: 33))
        let values = try SENNRelevances(senn).attribute(x, target: .indices([2, 0, 1])).values
        let theta = try senn.explain(x).relevances
        #expect(values.shape == [3, 4])
        for (row, c) in [2, 0, 1].enumerated() {
            #expect(try maxDifference(values[row], theta[row].select(dim: 1, index: c)) < 1e-7)
        }
    }

    @Test("a tabular SENN with identity concepts learns the breast-cancer data, and its relevances are feature weights")
    func tabularSENNLearns() throws {
        let (train, test) = try BreastCancer.bundled()
        let senn = try TabularSENN.model(features: 30, classes: 2, generator: Generator(seed: 34))
        var objective = SENNObjective(robustness: 1e-2, reconstruction: 0, sparsity: 0)
        objective.robustnessExamples = 16
        let trainer = Trainer(model: senn, optimizer: Adam(senn.parameters, learningRate: 2e-3))
        trainer.objective = { inputs, targets, generator in
            let (terms, logits) = try objective.evaluate(senn, inputs: inputs, targets: targets, generator: generator)
            return (terms.total, logits)
        }
        try trainer.fit(inputs: train.features, targets: train.labels, epochs: 15)
        let output = try noGrad { try senn.explain(test.features) }
        let accuracy = try output.logits.argmax(dim: 1).eq(test.labels).to(.float64).mean().item()
        // scikit-learn 1.3.2's logistic regression scores 96.5% on this split; a small SENN must be close.
        #expect(accuracy > 0.93)
        // Identity concepts: logit_c = Σ_j θ_jc x_j exactly.
        #expect(try maxDifference(output.logits, (output.relevances * test.features.unsqueezed(dim: 2)).sum(dims: [1])) < 1e-4)
    }
}
