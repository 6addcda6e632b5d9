import Foundation
import NN
import Testing
import TestSupport
import Torch
@testable import Visualization

@Suite("image transforms and diversity")
struct ImageTransformsTests {
    @Test("a quarter turn moves pixel centres onto pixel centres: the same as rotating the array")
    func quarterTurn() throws {
        let (n, size) = (2, 5)
        let x = try Tensor.rand([n, 3, size, size], generator: Generator(seed: 1))
        let turned = try ImageTransforms.rotated(x, degrees: 90).scalars(as: Float.self)
        let source = try x.scalars(as: Float.self)
        // Counter-clockwise on screen (y down): output (i, j) reads input (j, size − 1 − i).
        var expected = [Float](repeating: 0, count: source.count)
        for plane in 0..<(n * 3) {
            for i in 0..<size { for j in 0..<size { expected[plane * size * size + i * size + j] = source[plane * size * size + j * size + size - 1 - i] } }
        }
        #expect(zip(turned, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        // A small turn of a mid-grey image stays mid-grey, corners included.
        #expect(try maxDifference(ImageTransforms.rotated(Tensor.full([1, 1, 6, 9], value: 0.5), degrees: 7), Tensor.full([1, 1, 6, 9], value: 0.5)) < 1e-6)
    }

    @Test("blur is a normalised Gaussian with mid-grey edges: a direct float64 sum agrees")
    func blurMatchesDirectSum() throws {
        let (h, w, sigma) = (7, 6, 0.8)
        let x = try Tensor.rand([1, 2, h, w], generator: Generator(seed: 2))
        let ours = try ImageTransforms.blurred(x, sigma: sigma).scalars(as: Float.self)
        let source = try x.to(.float64).scalars(as: Double.self)
        let radius = Int((3 * sigma).rounded(.up))
        let taps = (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = taps.reduce(0, +)
        var worst = 0.0
        for c in 0..<2 {
            for y in 0..<h {
                for xx in 0..<w {
                    var sum = 0.0
                    for dy in -radius...radius {
                        for dx in -radius...radius {
                            let (yy, xs) = (y + dy, xx + dx)
                            let value = (0..<h).contains(yy) && (0..<w).contains(xs) ? source[(c * h + yy) * w + xs] : 0.5
                            sum += taps[dy + radius] * taps[dx + radius] / (total * total) * value
                        }
                    }
                    worst = max(worst, abs(sum - Double(ours[(c * h + y) * w + xx])))
                }
            }
        }
        // float32 products of 49 terms in [0, 1].
        #expect(worst < 1e-6)
    }

    @Test("the diversity term lowers the Gram similarity of copies of one channel's visualisation")
    func diversityPushesApart() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 3))
        model.eval()
        let objectives = Array(repeating: FeatureObjective.channel(hookPoint: "3", channel: 2), count: 3)
        var visualization = FeatureVisualization(model, objectives: objectives)
        (visualization.parametrization, visualization.transforms, visualization.steps) = (.pixels, .none, 64)
        let diversity = Diversity(hookPoint: "3", weight: 5)
        func similarity(_ images: Tensor) throws -> Double {
            let activations = try model.runWithCache(images, names: { $0 == "3" }).cache.activations["3"]!
            return try diversity.penalty(activations, groups: [[0, 1, 2]]).item()
        }
        let alike = try similarity(visualization.run(imageShape: [1, 28, 28]).images)
        visualization.diversity = diversity
        let result = try visualization.run(imageShape: [1, 28, 28])
        let apart = try similarity(result.images)
        #expect(apart < alike - 0.05, "\(alike) → \(apart)")
        #expect(Diversity.groups(of: objectives + [.logit(1)]) == [[0, 1, 2]])
        visualization.diversity = Diversity(hookPoint: "99")
        #expect(errorMessage { _ = try visualization.run(imageShape: [1, 28, 28]) }?.contains("no hook point '99'") == true)
    }
}

@Suite("activation maps")
struct ActivationMapsTests {
    @Test("the first layer's maps are the image convolved with each filter; dense layers are refused")
    func firstLayerMaps() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 4))
        model.eval()
        let image = try Tensor.rand([1, 28, 28], generator: Generator(seed: 5))
        let layers = try ActivationMaps(model, hookPoints: ["0"]).run(image)
        let conv = try #require(model.namedModules().first { $0.module is Conv2d }?.module as? Conv2d)
        let expected = try Functional.conv2d(image.unsqueezed(dim: 0).to(.float64), weight: conv.weight.to(.float64),
                                             bias: conv.bias?.to(.float64), padding: (1, 1))[0]
        #expect(layers[0].maps.shape == expected.shape)
        // float32 sums of 9 products of values below 1 against float64: rounding only, on any CPU.
        #expect(try maxDifference(layers[0].maps, expected) < 1e-5)
        #expect(try abs(layers[0].means[2] - expected[2].mean().item()) < 1e-6)
        #expect(errorMessage { _ = try ActivationMaps(model, hookPoints: ["9"]).run(image) }?.contains("not feature maps") == true)
    }
}
