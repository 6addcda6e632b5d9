import Foundation
import ExplanationCore
import Attribution
import Datasets
import NN
import Testing
import TestSupport
import Torch

@Suite("Command line: attribute", .serialized)
struct AttributeCommandTests {

    @Test("--list names every method with its options")
    func listsMethods() throws {
        let result = try glassbox(["attribute", "--list"])
        #expect(result.status == 0)
        for name in ["saliency", "integrated-gradients", "grad-cam", "occlusion", "kernel-shap", "lime", "layer-conductance", "neuron-integrated-gradients"] {
            #expect(result.output.contains(name), "\(name) missing")
        }
    }

    @Test("writes arrays, safetensors and heat maps for image inputs", arguments: [
        ["--method", "integrated-gradients", "--steps", "8"],
        ["--method", "grad-cam", "--layer", "3"],
        ["--method", "shapley-value-sampling", "--patch", "7", "--samples", "2"],
        ["--method", "occlusion", "--window", "1,7,7", "--strides", "1,7,7"],
    ])
    func writesOutputs(arguments: [String]) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let input = folder.appendingPathComponent("digits.npy").path
        try NumpyFile.write(Tensor.rand([2, 1, 28, 28], generator: Generator(seed: 2)), to: input)
        let out = folder.appendingPathComponent("out").path
        let result = try glassbox(["attribute", "--model", model, "--input", input, "--target", "3,4", "--out", out] + arguments)
        #expect(result.status == 0, "stderr: \(result.error)")
        let method = arguments[1]
        let values = try NumpyFile.read("\(out)/digits.\(method).npy")
        #expect(values.shape[0] == 2)
        let stored = try Safetensors.read("\(out)/attributions.safetensors")
        #expect(Set(stored.tensors.keys) == ["digits.npy[0]", "digits.npy[1]"])
        #expect(stored.metadata["method"] == method)
        for row in 0..<2 {
            #expect(FileManager.default.fileExists(atPath: "\(out)/digits-\(row).\(method).png"))
            #expect(FileManager.default.fileExists(atPath: "\(out)/digits-\(row).\(method).blended.png"))
        }
        #expect(result.output.contains("digits.npy[1]: target 4"))
        if method == "integrated-gradients" { #expect(result.output.contains("convergence delta")) }
    }

    @Test("bad combinations fail with one clear line", arguments: [
        (["--method", "neuron-gradient", "--neuron", "5"], "neuron-gradient needs --layer"),
        (["--method", "saliency", "--steps", "5"], "--steps does not apply to saliency"),
        (["--method", "magic"], "unknown method 'magic'"),
        (["--method", "saliency", "--target", "12"], "target 12 is out of range: the model has 10 classes"),
        (["--method", "saliency", "--target", "1,2,3"], "--target lists 3 classes for 2 examples"),
        (["--method", "grad-cam", "--layer", "99"], "no hook point '99'"),
        (["--method", "integrated-gradients", "--rule", "simpson"], "unknown --rule 'simpson'"),
        (["--method", "lime", "--patch", "4", "--feature-mask", "m.npy"], "give --feature-mask or --patch, not both"),
        (["--method", "integrated-gradients", "--baseline", "purple"], "--baseline must be zeros"),
    ] as [([String], String)])
    func badCombinations(arguments: [String], expected: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let input = folder.appendingPathComponent("digits.npy").path
        try NumpyFile.write(Tensor.rand([2, 1, 28, 28]), to: input)
        let result = try glassbox(["attribute", "--model", model, "--input", input, "--out", folder.appendingPathComponent("out").path] + arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(expected), "stderr: \(result.error)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/attributions.safetensors").path))
    }

    @Test("inputs whose outputs would overwrite each other, and an empty --out, are refused before anything is written")
    func outputsNeverCollide() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
            try NumpyFile.write(Tensor.rand([1, 1, 28, 28]), to: folder.appendingPathComponent("\(sub)/d.npy").path)
        }
        let out = folder.appendingPathComponent("out").path
        let clash = try glassbox(["attribute", "--model", model, "--input", folder.appendingPathComponent("a/d.npy").path,
                                  folder.appendingPathComponent("b/d.npy").path, "--method", "saliency", "--out", out])
        #expect(clash.status != 0 && clash.error.contains("would write the same output files (d.*)"), "stderr: \(clash.error)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let empty = try glassbox(["attribute", "--model", model, "--input", folder.appendingPathComponent("a/d.npy").path,
                                  "--method", "saliency", "--out", ""])
        #expect(empty.status != 0 && empty.error.contains("--out must name a folder"), "stderr: \(empty.error)")
    }

    @Test("TorchScript models run perturbation methods and refuse hook-based ones")
    func torchScript() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let traced = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../NNTests/Fixtures/cnn_traced.pt").standardized.path
        let input = folder.appendingPathComponent("x.npy").path
        try NumpyFile.write(Tensor.rand([1, 1, 28, 28]), to: input)
        let ok = try glassbox(["attribute", "--model", traced, "--input", input, "--method", "feature-ablation", "--patch", "7",
                               "--out", folder.appendingPathComponent("out").path])
        #expect(ok.status == 0, "stderr: \(ok.error)")
        let refused = try glassbox(["attribute", "--model", traced, "--input", input, "--method", "guided-backprop",
                                    "--out", folder.appendingPathComponent("out2").path])
        #expect(refused.status != 0)
        #expect(refused.error.contains("guided-backprop needs a native Glassbox model"))
    }

    @Test("a torchvision ResNet-18 state dict runs with its own weights, hook points and --normalize")
    func resNetStateDict() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let resNet = try ResNet18(classes: 6, generator: Generator(seed: 80))
        resNet.eval()
        // What safetensors.torch.save_file(model.state_dict(), path) writes: torchvision's names, no Glassbox metadata.
        let model = folder.appendingPathComponent("resnet18.safetensors").path
        try Safetensors.write(resNet.stateDict(), to: model)
        let images = try Tensor.rand([2, 3, 40, 40], generator: Generator(seed: 81))
        let input = folder.appendingPathComponent("images.npy").path
        try NumpyFile.write(images, to: input)

        let out = folder.appendingPathComponent("ig").path
        let ig = try glassbox(["attribute", "--model", model, "--input", input, "--method", "integrated-gradients", "--steps", "16",
                               "--target", "2", "--normalize", "imagenet", "--out", out])
        #expect(ig.status == 0, "stderr: \(ig.error)")
        var expected = IntegratedGradients(resNet)
        expected.steps = 16
        let mean = try Tensor([0.485, 0.456, 0.406] as [Float], shape: [1, 3, 1, 1]), std = try Tensor([0.229, 0.224, 0.225] as [Float], shape: [1, 3, 1, 1])
        let reference = try expected.attribute((images - mean) / std, target: .index(2)).values
        let written = try NumpyFile.read("\(out)/images.integrated-gradients.npy")
        #expect(try maxDifference(written, reference) < 1e-4 * reference.abs().max().item())

        // Without --patch or --feature-mask, KernelSHAP groups a 3×40×40 image into patches of 40/7 = 5 pixels (an 8×8 grid).
        let grouped = try glassbox(["attribute", "--model", model, "--input", input, "--method", "kernel-shap", "--samples", "80",
                                    "--out", folder.appendingPathComponent("shap").path])
        #expect(grouped.status == 0, "stderr: \(grouped.error)")
        let shap = try NumpyFile.read(folder.appendingPathComponent("shap/images.kernel-shap.npy").path)
        let patch = try shap[0][0].slice(dim: 0, start: 0, end: 5).slice(dim: 1, start: 0, end: 5).contiguous()
        #expect(Set(try patch.scalars(as: Float.self)).count == 1)
        #expect(Set(try shap[0][0].contiguous().scalars(as: Float.self)).count > 1)

        // Grad-CAM defaults to a ResNet's layer4.
        let cam = try glassbox(["attribute", "--model", model, "--input", input, "--method", "grad-cam", "--layer", "layer4",
                                "--out", folder.appendingPathComponent("cam").path])
        #expect(cam.status == 0, "stderr: \(cam.error)")
        let defaultCam = try glassbox(["attribute", "--model", model, "--input", input, "--method", "grad-cam",
                                       "--out", folder.appendingPathComponent("default-cam").path])
        #expect(defaultCam.status == 0, "stderr: \(defaultCam.error)")
        #expect(try NumpyFile.read(folder.appendingPathComponent("cam/images.grad-cam.npy").path).scalars(as: Float.self)
                == NumpyFile.read(folder.appendingPathComponent("default-cam/images.grad-cam.npy").path).scalars(as: Float.self))
        let predicted = try glassbox(["predict", "--model", model, input, "--normalize", "0.5,0.5,0.5/0.25,0.25,0.25"])
        #expect(predicted.status == 0, "stderr: \(predicted.error)")
        #expect(predicted.output.contains("images.npy[1]:"))
        // A grayscale PNG is repeated into the three channels a ResNet takes.
        let gray = folder.appendingPathComponent("gray.png").path
        try PNG.write(Image(width: 33, height: 29, channels: 1, pixels: (0..<(33 * 29)).map { UInt8($0 % 256) }), to: gray)
        let fromPNG = try glassbox(["predict", "--model", model, gray, "--normalize", "imagenet"])
        #expect(fromPNG.status == 0, "stderr: \(fromPNG.error)")

        let badNormalize = try glassbox(["predict", "--model", model, input, "--normalize", "0.5/0"])
        #expect(badNormalize.status != 0)
        #expect(badNormalize.error.contains("std must be positive"), "stderr: \(badNormalize.error)")
        let wrongChannels = try glassbox(["predict", "--model", model, input, "--normalize", "0.5/0.25"])
        #expect(wrongChannels.error.contains("--normalize gives 1 channel(s)"), "stderr: \(wrongChannels.error)")
        var broken = resNet.stateDict()
        broken["layer3.0.conv1.weight"] = try Tensor.zeros([256, 128, 5, 5])
        try Safetensors.write(broken, to: model)
        let misfit = try glassbox(["predict", "--model", model, input])
        #expect(misfit.error.contains("does not fit torchvision's ResNet-18"), "stderr: \(misfit.error)")
    }
}
