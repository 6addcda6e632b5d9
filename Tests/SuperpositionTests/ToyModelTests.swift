import Foundation
import Testing
import TestSupport
@testable import Superposition
import Torch

@Suite("Toy models of superposition")
struct ToyModelTests {
    @Test("sparse features: present with each instance's probability, then uniform, the same on any thread count")
    func sparseFeatures() throws {
        let probability = try Tensor([0.05, 0.5, 1, 0] as [Float], shape: [2, 2])
        let x = try Tensor.sparseFeatures(probability: probability, batchSize: 20_000, seed: 7, draw: 1)
        #expect(x.shape == [2, 20_000, 2])
        let present = try x.gt(0).to(.float64).mean(dims: [1]).scalars(as: Double.self)
        // Binomial standard deviations: 0.0015 and 0.0035; 5 of them allowed.
        #expect(abs(present[0] - 0.05) < 0.0075 && abs(present[1] - 0.5) < 0.018 && present[2] == 1 && present[3] == 0)
        let values = try x.maskedSelect(x.gt(0))
        let (mean, largest) = (try values.mean().item(), try values.max().item())
        #expect(abs(mean - 0.5) < 0.01 && largest < 1)
        let again = try Tensor.sparseFeatures(probability: probability, batchSize: 20_000, seed: 7, draw: 1)
        let other = try Tensor.sparseFeatures(probability: probability, batchSize: 20_000, seed: 7, draw: 2)
        let threads = Torch.threads
        try Torch.setThreads(1)
        let single = try Tensor.sparseFeatures(probability: probability, batchSize: 20_000, seed: 7, draw: 1)
        try Torch.setThreads(threads)
        #expect(try maxDifference(x, again) == 0)
        #expect(try maxDifference(x, single) == 0)
        #expect(try maxDifference(x, other) > 0.5)
    }

    // Training's workers each take a slice of the instances: it must draw and learn what the
    // whole would. Float32 sums of 3 instances vs 7 round alike per instance; 1e-5 leaves room
    // for OpenMP's split of a reduction.
    @Test("a slice of the instances draws the same features and trains to the same weights as in the whole")
    func instanceSlices() throws {
        let density = try ToyModels.density([1, 0.3, 0.1, 0.03, 0.3, 0.1, 0.03], features: 6)
        let importance = try ToyModels.importance(decay: 0.8, features: 6, instances: 7)
        let whole = try ToyModels(hidden: 2, importance: importance, density: density,
                                  reluOutput: [true, true, true, true, false, false, false], generator: Generator(seed: 4))
        let slice = try ToyModels(instances: 2..<5, of: whole)
        #expect(try maxDifference(slice.sample(batchSize: 50, seed: 9, draw: 3),
                                  whole.sample(batchSize: 50, seed: 9, draw: 3).slice(dim: 0, start: 2, end: 5)) == 0)
        let sliceLosses = try slice.trainTogether(steps: 200, batchSize: 64, learningRate: 1e-2, seed: 5, evaluationBatches: 2)
        let wholeLosses = try whole.train(steps: 200, batchSize: 64, learningRate: 1e-2, seed: 5, evaluationBatches: 2)
        #expect(try relativeDifference(slice.weight, whole.weight.slice(dim: 0, start: 2, end: 5)) < 1e-5)
        #expect(zip(sliceLosses, wholeLosses[2..<5]).allSatisfy { abs($0 - $1) <= 1e-5 * max(abs($1), 1e-12) })
    }

    @Test("the batched forward pass is each instance's ReLU(WᵀWx + b), or WᵀWx + b for the linear ones",
          arguments: [(2, 4), (5, 20)])
    func forwardPerInstance(hidden: Int, features: Int) throws {
        let importance = try Tensor.ones([3, features]), density = try Tensor.ones([3, features]) * 0.5
        let models = try ToyModels(hidden: hidden, importance: importance, density: density, reluOutput: [true, false, true], generator: Generator(seed: 1))
        try noGrad { try models.bias.copyInPlace(from: Tensor.randn([3, features], generator: Generator(seed: 2))) }
        let x = try models.sample(batchSize: 5, seed: 3, draw: 0)
        let out = try models(x)
        for i in 0..<3 {
            let w = try models.weight[i].to(.float64), xi = try x[i].to(.float64)
            var expected = try xi.matmul(w.transposed(0, 1)).matmul(w) + models.bias[i].to(.float64)
            if models.reluOutput[i] { expected = try expected.relu() }
            #expect(try maxDifference(out[i].to(.float64), expected) < 1e-6)
        }
        #expect(errorMessage { _ = try models(Tensor.zeros([2, 5, features])) }?.contains("instances 3") == true)
    }

    @Test("geometry: antipodal pairs get half a dimension, a regular pentagon 2/5, a dropped feature none")
    func geometryOfKnownArrangements() throws {
        // Features 0 and 1 antipodal on the first axis, feature 2 alone on the second, feature 3 dropped.
        let pair = try Tensor([1, -1, 0, 0.001, 0, 0, 1, 0] as [Double], shape: [1, 2, 4])
        let g = try FeatureGeometry(weight: pair)
        // The dropped feature's 0.001 still overlaps feature 0 and 1 by 1e-6.
        #expect(try maxDifference(g.dimensionality, Tensor([0.5, 0.5, 1, 0] as [Double], shape: [1, 4])) < 1e-5)
        #expect(try maxDifference(g.superposition.slice(dim: 1, start: 0, end: 3), Tensor([1, 1, 0] as [Double], shape: [1, 3])) < 1e-5)
        let angles = (0..<5).map { 2 * Double.pi * Double($0) / 5 }
        let pentagon = try Tensor(angles.map { cos($0) } + angles.map { sin($0) }, shape: [1, 2, 5])
        let p = try FeatureGeometry(weight: pentagon)
        #expect(try p.dimensionality.scalars(as: Double.self).allSatisfy { abs($0 - 0.4) < 1e-12 })
        #expect(abs(try p.dimensionsUsed()[0] - 2) < 1e-12)
    }
}

@Suite("Sparsity sweep")
struct SparsitySweepTests {
    @Test("the paper's qualitative result: the linear model never superposes, the ReLU output does once features are sparse")
    func publishedQualitativeResult() throws {
        var sweep = SparsitySweep()
        // A larger learning rate than the paper's 1e-3 converges in 2,000 steps.
        (sweep.sparsities, sweep.steps, sweep.learningRate) = ([0, 0.99], 2000, 1e-2)
        let models = try sweep.run(seed: 0)
        #expect(models.map(\.reluOutput) == [false, false, true, true])
        for linear in models.prefix(2) { #expect(linear.inSuperposition == 0 && linear.represented == 5) }
        #expect(models[2].inSuperposition == 0)
        #expect(models[3].inSuperposition > 5)
        // Sparser features are easier: the loss falls with density.
        #expect(models[3].loss < models[2].loss && models[1].loss < models[0].loss)
    }
}

@Suite("Phase diagram")
struct PhaseDiagramTests {
    @Test("dense features: the more important one takes the dimension; sparse and equally important: superposition")
    func corners() throws {
        var diagram = PhaseDiagram()
        (diagram.importances, diagram.densities, diagram.steps, diagram.learningRate) = ([0.3, 1, 3], [0.03, 1], 4000, 1e-2)
        let cells = try diagram.run(seed: 0)
        func phase(_ r: Double, _ density: Double) -> PhaseDiagram.Phase? {
            cells.first { $0.relativeImportance == r && $0.density == density }?.phase
        }
        #expect(phase(0.3, 1) == .notRepresented)
        #expect(phase(3, 1) == .dedicated)
        #expect(phase(1, 0.03) == .superposition)
        let shared = try #require(cells.first { $0.relativeImportance == 1 && $0.density == 0.03 })
        #expect(shared.weight[0] * shared.weight[1] < 0, "superposed features sit antipodally")
    }
}

@Suite("One neuron, several inputs")
struct NeuronCodeTests {
    @Test("the seed's example: ¾·(−log ⅓) ≈ 0.82 for three inputs, −log ½ ≈ 0.69 for two features; distinct activations lose nothing")
    func seedExample() {
        let (three, two) = NeuronCode.seedExample
        #expect(abs(three - 0.75 * log(3)) < 1e-12 && abs(three - 0.82) < 0.005)
        #expect(abs(two - log(2)) < 1e-12 && abs(two - 0.69) < 0.005)
        #expect(NeuronCode.crossEntropy(probabilities: [0.25, 0.25, 0.25, 0.25], activations: [0, 1, 2, 3]) == 0)
    }
}

@Suite("Privileged basis")
struct PrivilegedBasisTests {
    @Test("excess kurtosis: −2 for a symmetric two-point axis; axes that never vary are ignored")
    func kurtosis() throws {
        // Axis 0: ±1 equally often (excess kurtosis −2); axis 1: constant (ignored).
        let values = try Tensor([1, 5, -1, 5, 1, 5, -1, 5] as [Double], shape: [1, 4, 2])
        #expect(try abs(PrivilegedBasis.kurtosis(values)[0] + 2) < 1e-12)
    }

    @Test("a ReLU on the hidden layer is applied only to the instances that ask for it")
    func hiddenReLUPerInstance() throws {
        let models = try ToyModels(hidden: 5, importance: Tensor.ones([2, 20]), density: Tensor.ones([2, 20]) * 0.5,
                                   reluOutput: [true, true], hiddenReLU: [false, true], generator: Generator(seed: 4))
        let x = try models.sample(batchSize: 64, seed: 1, draw: 0)
        let h = try models.hiddenActivations(x)
        let plain = try x.matmul(models.weight.transposed(1, 2))
        #expect(try maxDifference(h[0], plain[0]) == 0)
        #expect(try maxDifference(h[1], plain[1].relu()) == 0)
        #expect(try plain[1].min().item() < 0)
    }
}

@Suite("Feature dimensionality")
struct DimensionalityStudyTests {
    @Test("sticky share counts represented features near 1, 3/4, 2/3, 1/2, 2/5 or 1/3")
    func stickyShare() {
        let point = DimensionalityStudy.Point(inverseDensity: 10, dimensionality: [1, 0.5, 0.52, 0, 0.41, 0.9], loss: 0, featuresPerDimension: 0)
        // Represented: 1, 0.5, 0.52, 0.41, 0.9; within 0.03 of a fraction: all but 0.9.
        #expect(DimensionalityStudy.stickyShare([point]) == 0.8)
        #expect(DimensionalityStudy.stickyShare([point], tolerance: 0.005) == 0.4)
        #expect(DimensionalityStudy.stickyShare([]) == 0)
    }

    @Test("dense features fill about one per dimension; sparse ones are packed several to a dimension, most at a sticky fraction (Elhage et al. 2022)")
    func packingGrowsWithSparsity() throws {
        var study = DimensionalityStudy()
        (study.features, study.hidden, study.inverseDensities, study.steps) = (6, 2, [1.0, 20], 3000)
        let points = try study.run(seed: 0)
        // Here: 1.01 and 3.19 features per dimension; the sparse model puts five features in a
        // pentagon (Dᵢ 0.37–0.40, the published 2/5).
        #expect(points[0].featuresPerDimension < 1.3)
        #expect(points[1].featuresPerDimension > 2)
        #expect(DimensionalityStudy.stickyShare([points[1]]) >= 0.6)
        #expect(points.allSatisfy { $0.dimensionality.count == 6 && $0.dimensionality.allSatisfy { $0 >= 0 && $0 <= 1 + 1e-6 } })
    }
}
