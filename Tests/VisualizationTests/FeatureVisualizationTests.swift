import ExplanationCore
import Foundation
import NN
import Testing
import TestSupport
import Torch
@testable import Visualization

@Suite("feature visualisation")
struct FeatureVisualizationTests {
    @Test("a linear model's logit under an L2 penalty: the optimum 0.5 + D·w/(2λ) is found")
    func linearOptimum() throws {
        let w = try Tensor.randn([16], generator: Generator(seed: 1)) * 0.01
        let model = ForwardFunction { x in
            let score = try (x.flattened(from: 1) * w).sum(dims: [1])
            return try Tensor.stack([score, score * 0.0], dim: 1)
        }
        var visualization = FeatureVisualization(model, objectives: [.logit(0), .logit(0)])
        (visualization.parametrization, visualization.transforms, visualization.l2Penalty) = (.pixels, .none, 1)
        (visualization.steps, visualization.learningRate, visualization.annealing) = (600, 0.05, true)
        let result = try visualization.run(imageShape: [1, 4, 4])
        // Maximise w·x − λ·mean((x − 0.5)²): x* − 0.5 = D·w/(2λ) with D = 16, λ = 1.
        let optimum = try (w * 8.0 + 0.5).reshaped([1, 4, 4])
        for row in 0..<2 { #expect(try maxDifference(result.images[row], optimum) < 2e-3) }
    }

    @Test("under an L1 penalty the optimum is sparse: weak weights leave their pixels at mid-grey, strong ones drive them to the edge")
    func lassoOptimum() throws {
        // Maximise w·x − λ·mean|x − 0.5| over D = 4 pixels: a pixel moves only where |wᵢ| > λ/D = 0.1.
        let w = try Tensor([0.5, -0.5, 0.01, -0.01] as [Float], shape: [4])
        let model = ForwardFunction { x in
            let score = try (x.flattened(from: 1) * w).sum(dims: [1])
            return try Tensor.stack([score, score * 0.0], dim: 1)
        }
        var visualization = FeatureVisualization(model, objectives: [.logit(0)])
        (visualization.parametrization, visualization.transforms, visualization.l1Penalty) = (.pixels, .none, 0.4)
        (visualization.steps, visualization.learningRate, visualization.annealing) = (600, 0.05, true)
        let x = try visualization.run(imageShape: [1, 2, 2]).images.flattened().scalars(as: Float.self)
        #expect(x[0] > 0.95 && x[1] < 0.05, "\(x)")
        #expect(abs(x[2] - 0.5) < 0.02 && abs(x[3] - 0.5) < 0.02, "\(x)")
    }

    @Test("the Fourier bases are the inverse real DFT (a direct float64 sum)")
    func fourierBases() throws {
        let (h, w) = (6, 8), l = w / 2 + 1
        let bases = try FourierBases(height: h, width: w)
        let spectrum = try Tensor.randn([1, 1, h, l, 2], generator: Generator(seed: 2))
        let ours = try bases.image(from: spectrum)
        let scaled = try (spectrum * bases.scale.unsqueezed(dim: 4)).to(.float64).scalars(as: Double.self)
        var expected = [Double](repeating: 0, count: h * w)
        for y in 0..<h {
            for x in 0..<w {
                var total = 0.0
                for k in 0..<h {
                    for j in 0..<l {
                        let weight = j == 0 || j == w / 2 ? 1.0 : 2.0
                        let theta = 2 * Double.pi * (Double(k * y) / Double(h) + Double(j * x) / Double(w))
                        let (re, im) = (scaled[(k * l + j) * 2], scaled[(k * l + j) * 2 + 1])
                        total += weight * (re * Foundation.cos(theta) - im * Foundation.sin(theta))
                    }
                }
                expected[y * w + x] = total / Double(h * w).squareRoot()
            }
        }
        // float32 bases and products against a float64 sum of 30 terms.
        #expect(try maxDifference(ours.reshaped([h * w]), Tensor(expected.map { Float($0) }, shape: [h * w])) < 1e-4)
    }

    @Test("a channel of the demo CNN: the objective grows, images stay in [0, 1], both parametrisations")
    func channelGrows() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 3))
        model.eval()
        for parametrization in ImageParametrization.allCases {
            var visualization = FeatureVisualization(model, objectives: [.channel(hookPoint: "0", channel: 3), try FeatureObjective(parsing: "3:neuron:5@3,3")])
            (visualization.parametrization, visualization.steps) = (parametrization, 48)
            let transformed = try visualization.run(imageShape: [1, 28, 28])
            #expect(transformed.images.shape == [2, 1, 28, 28])
            #expect(try transformed.images.min().item() >= 0 && transformed.images.max().item() <= 1)
            // Without transforms the first trace entry is the starting image's value: it must grow.
            visualization.transforms = .none
            let result = try visualization.run(imageShape: [1, 28, 28])
            for objective in 0..<2 { #expect(result.values[objective] > result.trace[0][objective] + 0.01, "\(parametrization) \(objective)") }
        }
    }

    @Test("objectives parse; bad ones and hook points on a function are refused")
    func parsingAndRefusals() throws {
        #expect(try FeatureObjective(parsing: "0.5*9:neuron:3@2,1+0.5*logit:7").description == "0.5*9:neuron:3@2,1+0.5*logit:7")
        #expect(try FeatureObjective(parsing: "4:layer").hookPoints == ["4"])
        #expect(errorMessage { _ = try FeatureObjective(parsing: "4:channels:2") }?.contains("is not one of") == true)
        #expect(errorMessage { _ = try FeatureObjective(parsing: "2*logit:1+logit:2") }?.contains("WEIGHT*OBJECTIVE") == true)
        let function = ForwardFunction { try $0.flattened(from: 1) }
        #expect(errorMessage { _ = try FeatureVisualization(function, objectives: [.layer(hookPoint: "1")]).run(imageShape: [1, 4, 4]) }?.contains("native Glassbox model") == true)
        let model = try Architectures.mnistCNN(generator: Generator(seed: 3))
        var visualization = FeatureVisualization(model, objectives: [.channel(hookPoint: "1", channel: 40)])
        visualization.steps = 1
        #expect(errorMessage { _ = try visualization.run(imageShape: [1, 28, 28]) }?.contains("40 is out of range") == true)
    }
}

@Suite("representation inversion")
struct RepresentationInversionTests {
    @Test("the first convolution's representation gives the image back; the output's keeps far less of it")
    func shallowAndDeep() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 5))
        model.eval()
        // A smooth blob, which total variation does not fight.
        let grid = try Tensor.arange(0, 28, dtype: .float32) - 13.5
        let blob = try ((grid.square().unsqueezed(dim: 1) + grid.square().unsqueezed(dim: 0)) * (-1.0 / 40)).exp().reshaped([1, 28, 28])
        var inversion = RepresentationInversion(model, hookPoints: ["0", "output"])
        inversion.steps = 300
        let result = try inversion.run(blob)
        #expect(result.images.shape == [2, 1, 28, 28])
        #expect(result.relativeErrors[0] < 0.1 && result.imageErrors[0] < 0.15, "\(result.relativeErrors) \(result.imageErrors)")
        #expect(result.imageErrors[1] > 2 * result.imageErrors[0], "\(result.imageErrors)")
    }

    @Test("a match objective is 0 at its target and refuses a target of another shape")
    func matchObjective() throws {
        let target = try Tensor.randn([3, 4], generator: Generator(seed: 6))
        let objective = FeatureObjective.match(hookPoint: "a", target: target)
        #expect(try objective.value(row: 0, output: Tensor.zeros([1, 2]), cache: ["a": target.unsqueezed(dim: 0)]).item() == 0)
        #expect(errorMessage { _ = try objective.value(row: 0, output: Tensor.zeros([1, 2]), cache: ["a": Tensor.zeros([1, 4, 3])]) }?.contains("has shape") == true)
    }
}

@Suite("deep image prior")
struct DeepImagePriorTests {
    /// A smooth 16×16 blob: structure the network fits quickly.
    static func blob() throws -> Tensor {
        let grid = try Tensor.arange(0, 16, dtype: .float32) - 7.5
        return try ((grid.square().unsqueezed(dim: 1) + grid.square().unsqueezed(dim: 0)) * (-1.0 / 20)).exp().reshaped([1, 16, 16])
    }

    @Test("an image is fitted faster than its shuffled pixels, and the loss ignores masked pixels")
    func fitsStructureFirst() throws {
        var prior = DeepImagePrior()
        (prior.steps, prior.width, prior.levels, prior.every) = (150, 16, 2, 50)
        let image = try Self.blob()
        let shuffled = try image.flattened(from: 1).indexSelect(dim: 1, index: Tensor.rand([256], generator: Generator(seed: 9)).sorted(dim: 0).indices).reshaped([1, 16, 16])
        let a = try prior.fit(image), b = try prior.fit(shuffled)
        #expect(a.losses.count == 4 && a.losses.last! < b.losses.last!, "\(a.losses) vs \(b.losses)")
        // Masking every pixel but one: the loss sees only that pixel.
        let mask = try Tensor.zeros([1, 16, 16]).clone()
        try mask.slice(dim: 1, start: 3, end: 4).slice(dim: 2, start: 5, end: 6).fillInPlace(1)
        let one = try prior.fit(image, mask: mask)
        #expect(one.losses.last! < 1e-3)
        #expect(errorMessage { _ = try prior.fit(image, mask: Tensor.zeros([1, 16, 16])) }?.contains("no known pixel") == true)
        #expect(errorMessage { _ = try prior.fit(image * 2.0) }?.contains("[0, 1]") == true)
    }

    @Test("inverting a first convolution through the prior gives the image back and leaves the model untouched")
    func invertsThroughThePrior() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 10))
        model.eval()
        let before = try model.parameters.map { try $0.clone() }
        let grid = try Tensor.arange(0, 28, dtype: .float32) - 13.5
        let blob = try ((grid.square().unsqueezed(dim: 1) + grid.square().unsqueezed(dim: 0)) * (-1.0 / 40)).exp().reshaped([1, 28, 28])
        var prior = DeepImagePrior()
        (prior.steps, prior.width, prior.levels, prior.every) = (200, 16, 2, 50)
        let result = try prior.invert(blob, at: "0", of: model)
        #expect(result.losses.count == 5 && result.losses.last! < result.losses.first! / 10, "\(result.losses)")
        #expect(result.relativeError < 0.15 && result.imageError < 0.2, "\(result.relativeError) \(result.imageError)")
        for (parameter, original) in zip(model.parameters, before) {
            #expect(try maxDifference(parameter, original) == 0)
            #expect(parameter.grad == nil)
        }
        #expect(errorMessage { _ = try prior.invert(blob, at: "nope", of: model) }?.contains("no hook point 'nope'") == true)
    }
}

@Suite("DeepDream")
struct DeepDreamTests {
    @Test("octaves raise a layer's objective on a digit-sized image and keep it in [0, 1]; a fixed-size model runs at every octave")
    func raisesObjective() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 7))
        model.eval()
        let image = try Tensor.rand([1, 28, 28], generator: Generator(seed: 8)) * 0.5
        var dream = DeepDream(model, objective: .layer(hookPoint: "3"))
        dream.settings.stepsPerOctave = 10
        let result = try dream.run(image)
        #expect(result.image.shape == [1, 28, 28])
        #expect(try result.image.min().item() >= 0 && result.image.max().item() <= 1)
        #expect(result.after > result.before * 1.1, "\(result.before) → \(result.after)")
        #expect(try DeepDream.roll(Tensor.arange(0, 4, dtype: .float32).reshaped([1, 1, 1, 4]), 0, 1).scalars(as: Float.self) == [3, 0, 1, 2])
    }
}
