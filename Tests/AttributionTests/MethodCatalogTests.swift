import Foundation
import Testing
import TestSupport
import ExplanationCore
import Attribution
import NN
import Torch

/// The one catalog every front end builds its methods from.
@Suite("Method catalog")
struct MethodCatalogTests {
    /// A small CNN on 1×8×8 inputs: convolutions (Grad-CAM's default layer), ReLUs and a classifier.
    func model() throws -> Sequential {
        let g = Generator(seed: 40)
        let model = Sequential([try Conv2d(1, 4, kernelSize: 3, padding: 1, generator: g), ReLU(), MaxPool2d(2),
                                try Conv2d(4, 4, kernelSize: 3, padding: 1, generator: g), ReLU(), Flatten(), try Linear(64, 3, generator: g)])
        model.eval()
        return model
    }

    /// The settings a method needs beyond the defaults.
    func settings(for entry: MethodEntry) -> MethodSettings {
        var settings = MethodSettings(seed: 3)
        if entry.options.contains(.neuron) { (settings.layer, settings.neuron) = ("6", [1]) }
        if entry.options.contains(.samples) { settings.samples = ["lime", "kernel-shap"].contains(entry.name) ? 80 : 12 }  // > 64 groups
        if entry.options.contains(.steps) { settings.steps = 8 }
        return settings
    }

    @Test("every entry builds on a native model and gives finite maps of the shape it promises", arguments: MethodCatalog.names)
    func everyEntryRuns(name: String) throws {
        let model = try model()
        let entry = try MethodCatalog.entry(named: name)
        let x = try Tensor.rand([2, 1, 8, 8], generator: Generator(seed: 41))
        let method = try MethodCatalog.method(named: name, model: model, featureShape: [1, 8, 8], settings: settings(for: entry))
        #expect(method.name == name || name.hasPrefix("smoothgrad") || name == "vargrad")
        let values = try method.attribute(x, target: .index(1)).values
        #expect(try values.allFinite())
        if entry.isScorable || name.hasPrefix("neuron-") { #expect(values.shape == x.shape) }
        #expect(values.shape[0] == 2)
    }

    @Test("methods without hook points or ReLU modules run on a plain function; the others say why they cannot")
    func portability() throws {
        let model = try model()
        let function = ForwardFunction { try model($0) }
        let x = try Tensor.rand([1, 1, 8, 8], generator: Generator(seed: 42))
        for entry in MethodCatalog.entries {
            if entry.needsNativeModel {
                #expect(throws: TorchError.self) { try MethodCatalog.method(named: entry.name, model: function, featureShape: [1, 8, 8], settings: settings(for: entry)) }
                do {
                    _ = try MethodCatalog.method(named: entry.name, model: function, featureShape: [1, 8, 8], settings: settings(for: entry))
                } catch let error as TorchError {
                    #expect(error.message.contains("needs a native Glassbox model (") && error.message.contains("saliency"))
                }
            } else {
                let method = try MethodCatalog.method(named: entry.name, model: function, featureShape: [1, 8, 8], settings: settings(for: entry))
                #expect(try method.attribute(x, target: .index(0)).values.shape == x.shape)
            }
        }
    }

    @Test("defaults are the catalog's: IG path batches bounded by input values, 200 coalitions, a 7×7 patch grid on images, the last convolution for Grad-CAM")
    func defaults() throws {
        let model = try model()
        let ig = try #require(try MethodCatalog.method(named: "integrated-gradients", model: model, featureShape: [1, 8, 8]) as? IntegratedGradients)
        #expect(ig.internalBatchSize == MethodCatalog.pathBatchValues / 64 && ig.steps == 50)
        let resNetIG = try #require(try MethodCatalog.method(named: "integrated-gradients", model: model, featureShape: [3, 224, 224]) as? IntegratedGradients)
        #expect(resNetIG.internalBatchSize == 64)
        let shap = try #require(try MethodCatalog.method(named: "kernel-shap", model: model, featureShape: [1, 28, 28]) as? KernelSHAP)
        #expect(shap.samples == 200)
        let mask = try #require(shap.featureMask)
        #expect(try mask.max().item() == 48 && mask.shape == [1, 28, 28])
        #expect(MethodCatalog.defaultLayer(of: model) == "3")
        #expect(MethodCatalog.defaultLayer(of: try ResNet18(classes: 2)) == "layer4")
        #expect(MethodCatalog.defaultWindow(featureShape: [3, 10, 10]) == [3, 4, 4])
    }

    @Test("settings that do not fit a method are refused before anything runs")
    func validation() throws {
        var steps = MethodSettings()
        steps.steps = 5
        #expect(throws: TorchError.self) { try MethodCatalog.validate(steps, for: "saliency") }
        var both = MethodSettings()
        (both.patch, both.featureMask) = (4, try Tensor.zeros([1, 8, 8]))
        #expect(throws: TorchError.self) { try MethodCatalog.validate(both, for: "lime") }
        #expect(throws: TorchError.self) { try MethodCatalog.validate(MethodSettings(), for: "neuron-gradient") }
        #expect(throws: TorchError.self) { try MethodCatalog.entry(named: "magic") }
        // More than 4096 single features are refused; images are grouped by default instead.
        let wide = ForwardFunction { try $0.sum(dims: [1], keepDims: true) }
        #expect(throws: TorchError.self) { try MethodCatalog.method(named: "kernel-shap", model: wide, featureShape: [5000]) }
        #expect(try MethodCatalog.method(named: "kernel-shap", model: wide, featureShape: [3, 100, 100]) is KernelSHAP)
        // Bounds: too few coalitions for the fit, counts past their limits, a patch larger than the image.
        var few = MethodSettings()
        few.samples = 10
        #expect(throws: TorchError.self) { try MethodCatalog.method(named: "lime", model: wide, featureShape: [1, 28, 28], settings: few) }
        var huge = MethodSettings()
        huge.steps = Int.max
        #expect(throws: TorchError.self) { try MethodCatalog.validate(huge, for: "integrated-gradients") }
        // Occlusion with 1×1×1 windows on a 3×224×224 image would build 84 GiB of masks: refused before any forward call.
        do {
            let image = ForwardFunction { try $0.flattened(from: 1).sum(dims: [1], keepDims: true) }
            _ = try Occlusion(image, window: [1, 1, 1], strides: [1, 1, 1]).attribute(Tensor.zeros([1, 3, 224, 224]), target: .index(0))
            Issue.record("occlusion accepted 84 GiB of masks")
        } catch let error as TorchError {
            #expect(error.message.contains("GiB") && error.message.contains("larger window"))
        }
        var patch = MethodSettings()
        patch.patch = 29
        #expect(throws: TorchError.self) { try MethodCatalog.method(named: "feature-ablation", model: wide, featureShape: [1, 28, 28], settings: patch) }
    }
}
