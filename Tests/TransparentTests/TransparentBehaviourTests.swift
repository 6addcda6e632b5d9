import Testing
import TestSupport
import Torch
@testable import Transparent

@Suite("Transparent models: behaviour")
struct TransparentBehaviourTests {
    func table(_ rows: [[Float]], _ labels: [Int], classes: Int? = nil) throws -> LabelledFeatures {
        try LabelledFeatures(features: Tensor(rows.flatMap { $0 }, shape: [rows.count, rows[0].count]), labels: Tensor(labels, shape: [labels.count]),
                             classes: classes)
    }

    @Test("the hard-margin SVM of two points is their perpendicular bisector, and touching hulls are an error")
    func svmOnKnownGeometry() throws {
        let model = try HardMarginSVM.fit(table([[0, 0], [2, 0], [0, 1], [2, 1]], [0, 1, 0, 1]))
        #expect(try maxDifference(model.weights, Tensor([1.0, 0.0])) < 1e-9)
        #expect(Swift.abs(model.bias + 1) < 1e-9)
        #expect(Swift.abs(try model.margin - 1) < 1e-9)
        #expect(model.supportVectors == [0, 1, 2, 3])
        let message = errorMessage { _ = try HardMarginSVM.fit(table([[0, 0], [1, 1], [1, 0], [0, 1]], [0, 0, 1, 1])) }
        #expect(message?.contains("not linearly separable") == true, "\(message ?? "")")
    }

    @Test("with a large C the soft-margin SVM is the hard-margin one; on XOR it still fits, paying for violations")
    func softMarginLimits() throws {
        let square = try table([[0, 0], [2, 0], [0, 1], [2, 1]], [0, 1, 0, 1])
        let model = try SoftMarginSVM.fit(square, inverseStrength: 1e6)
        #expect(model.exact)
        #expect(try maxDifference(model.weights, Tensor([1.0, 0.0])) < 1e-6 && Swift.abs(model.bias + 1) < 1e-6)
        let xor = try SoftMarginSVM.fit(table([[0, 0], [1, 1], [1, 0], [0, 1]], [0, 0, 1, 1]), inverseStrength: 1)
        #expect(xor.exact && xor.supportVectors.count == 4)
        #expect(try xor.dualCoefficients.max().item() <= 1 + 1e-12)
        #expect(errorMessage { _ = try SoftMarginSVM.fit(square, inverseStrength: 0) }?.contains("C must be positive") == true)
    }

    @Test("the perceptron does not settle on XOR and says so")
    func perceptronOnXor() throws {
        let xor = try table([[0, 0], [1, 1], [1, 0], [0, 1]], [0, 0, 1, 1])
        let model = try Perceptron.fit(xor, maxEpochs: 100)
        #expect(!model.converged && model.epochs == [100])
        #expect(try model.predict(xor.features).ne(xor.labels).to(.int64).sum().itemInt() > 0)
    }

    @Test("an unbounded tree fits distinct points exactly and respects the leaf size")
    func treeLimits() throws {
        let generator = Generator(seed: 3)
        let x = try Tensor.rand([200, 4], generator: generator)
        let y = try (x.select(dim: 1, index: 0) * 3).floor().to(.int64).clamp(max: 2)
        let data = try LabelledFeatures(features: x, labels: y, classes: 3)
        let full = try DecisionTree.fit(data)
        #expect(try full.predict(x).eq(y).to(.int64).sum().itemInt() == 200)
        let pruned = try DecisionTree.fit(data, settings: .init(criterion: .entropy, minSamplesLeaf: 30))
        #expect(pruned.nodes.filter(\.isLeaf).allSatisfy { $0.sampleCount >= 30 })
        let pure = try DecisionTree.fit(LabelledFeatures(features: x, labels: Tensor.zeros([200], dtype: .int64), classes: 2))
        #expect(pure.nodes.count == 1 && pure.nodes[0].prediction == 0)
        #expect(errorMessage { _ = try full.predict(Tensor.zeros([2, 3])) }?.contains("(samples, 4)") == true)
        #expect(errorMessage { _ = try DecisionTree.fit(data, settings: .init(minSamplesSplit: 1)) } != nil)
        let probabilities = try full.probabilities(x)
        #expect(try maxDifference(probabilities.sum(dims: [1]), Tensor.ones([200], dtype: .float64)) < 1e-12)
    }

    @Test("a training point is its own nearest neighbour, at distance zero, and k is checked")
    func neighboursOfTrainingPoints() throws {
        let x = try Tensor.randn([50, 6], generator: Generator(seed: 2))
        let data = try LabelledFeatures(features: x, labels: Tensor.arange(0, 50).remainder(3).to(.int64), classes: 3)
        for metric in NearestNeighbors.Metric.allCases {
            let model = try NearestNeighbors(data, metric: metric)
            let found = try model.neighbors(of: x, k: 1, blockSize: 16)
            #expect(try found.indices.squeezed(dim: 1).eq(Tensor.arange(0, 50)).to(.int64).sum().itemInt() == 50)
            #expect(try found.distances.abs().max().item() < 1e-3)
            #expect(try model.predict(x, k: 1).eq(data.labels).to(.int64).sum().itemInt() == 50)
        }
        #expect(errorMessage { _ = try NearestNeighbors(data).neighbors(of: x, k: 51) }?.contains("k must be in 1...50") == true)
    }

    @Test("bad tables are refused with the reason")
    func badTables() throws {
        #expect(errorMessage { _ = try LabelledFeatures(features: Tensor([Float.nan, 1], shape: [1, 2]), labels: Tensor([0], shape: [1])) }?.contains("NaN") == true)
        #expect(errorMessage { _ = try LabelledFeatures(features: Tensor.zeros([2, 2]), labels: Tensor([0, 3], shape: [2]), classes: 3) }?.contains("0..<3") == true)
        #expect(errorMessage { _ = try LabelledFeatures(features: Tensor.zeros([2, 2]), labels: Tensor([0], shape: [1])) }?.contains("labels") == true)
        let data = try table([[0, 1], [1, 0]], [0, 1])
        #expect(errorMessage { _ = try LogisticRegression.fit(data, settings: .init(inverseStrength: -1)) }?.contains("positive") == true)
    }

    @Test("hand-made features of a drawn rectangle: brightness, box, four corners")
    func handMadeFeatures() throws {
        var pixels = [Float](repeating: 0, count: 28 * 28)
        for row in 8..<18 { for column in 10..<16 { pixels[row * 28 + column] = 1 } }
        let features = try DigitFeatures.compute(Tensor(pixels, shape: [1, 1, 28, 28])).scalars(as: Float.self)
        #expect(Swift.abs(features[0] - 60 / 784) < 1e-6)
        #expect(features[1] > 0)
        #expect(features[2] == 4, "corners: \(features[2])")
        #expect(features[3] == 6 && features[4] == 10)
        let blank = try DigitFeatures.compute(Tensor.zeros([1, 1, 28, 28])).scalars(as: Float.self)
        #expect(blank == [0, 0, 0, 0, 0])
    }

    @Test("principal components are orthonormal, ordered, and find a line's direction")
    func principalComponents() throws {
        let t = try Tensor.randn([300, 1], generator: Generator(seed: 4))
        let noise = try Tensor.randn([300, 3], generator: Generator(seed: 5)) * 0.01
        let x = try t.matmul(Tensor([3, 4, 0] as [Float], shape: [1, 3]) / 5) + noise
        let pca = try PrincipalComponents(fitting: x, components: 2)
        #expect(try maxDifference(pca.components.matmul(pca.components.t()), Tensor.eye(2, dtype: .float64)) < 1e-9)
        #expect(try Swift.abs(Swift.abs(pca.components[0][0].item()) - 0.6) < 1e-3)
        #expect(pca.explainedVarianceRatio[0] > 0.99 && pca.explainedVarianceRatio[0] >= pca.explainedVarianceRatio[1])
        #expect(try pca.transform(x).shape == [300, 2])
    }
}
