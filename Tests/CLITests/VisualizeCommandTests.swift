import Foundation
import NN
import Testing
import TestSupport
import Torch

@Suite("glassbox visualize and invert")
struct VisualizeCommandTests {
    @Test("visualize writes one image per objective, the page with the filters, and refuses bad objectives")
    func visualize() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let out = folder.appendingPathComponent("v").path
        let result = try glassbox(["visualize", "--model", model, "--objective", "logit:3", "--objective", "0:channel:2",
                                   "--objective", "0.5*3:neuron:1+0.5*logit:1", "--steps", "8", "--out", out])
        #expect(result.status == 0 && result.output.contains("0:channel:2:"), "\(result.error)")
        #expect(try Safetensors.read("\(out)/images.safetensors").tensors["images"]?.shape == [3, 1, 28, 28])
        let page = try String(contentsOfFile: "\(out)/visualize.html", encoding: .utf8)
        #expect(page.contains("First convolution's filters") && page.contains("images/filters.png"))
        let bad = try glassbox(["visualize", "--model", model, "--objective", "3:chanel:1", "--out", out])
        #expect(bad.failedCleanly && bad.error.contains("is not one of"), "\(bad.error)")
        let missing = try glassbox(["visualize", "--model", model, "--objective", "99:layer", "--steps", "2", "--out", out])
        #expect(missing.failedCleanly && missing.error.contains("no hook point '99'"), "\(missing.error)")
    }

    @Test("invert writes a reconstruction per layer with its errors")
    func invert() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let out = folder.appendingPathComponent("i").path
        let result = try glassbox(["invert", "--model", model, "--layers", "0,5,output", "--steps", "20", "--index", "3", "--out", out])
        #expect(result.status == 0 && result.output.contains("output: representation error"), "\(result.error)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/invert.json"))) as? [String: Any])
        #expect((json["representation_errors"] as? [Double])?.count == 3)
        #expect(try Safetensors.read("\(out)/reconstructions.safetensors").tensors["images"]?.shape == [3, 1, 28, 28])
    }
}

@Suite("glassbox dip")
struct DeepImagePriorCommandTests {
    @Test("each task writes its record and page; an unknown task is refused", arguments: ["fit", "inpaint", "denoise"])
    func task(name: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent(name).path
        let result = try glassbox(["dip", name, "--steps", "30", "--width", "8", "--levels", "2", "--out", out])
        #expect(result.status == 0, "\(result.error)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/dip.json"))) as? [String: Any])
        #expect((json["losses"] as? [String: Any])?.count == (name == "fit" ? 3 : 1))
        if name == "fit" { #expect((json["steps_to_fit"] as? [String: Any])?.count == 3, "\(json)") }
        #expect(FileManager.default.fileExists(atPath: "\(out)/dip.html"))
        let bad = try glassbox(["dip", "paint", "--out", out])
        #expect(bad.failedCleanly && bad.error.contains("fit, inpaint, denoise or invert"), "\(bad.error)")
    }
}

@Suite("glassbox dream")
struct DreamCommandTests {
    @Test("dream writes the image and the dream and reports the objective on both")
    func dream() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let out = folder.appendingPathComponent("d").path
        let result = try glassbox(["dream", "--model", model, "--objective", "4:layer", "--steps", "4", "--index", "2", "--out", out])
        #expect(result.status == 0 && result.output.contains("on the dream"), "\(result.error)")
        #expect(try Safetensors.read("\(out)/dream.safetensors").tensors["dream"]?.shape == [1, 28, 28])
        #expect(FileManager.default.fileExists(atPath: "\(out)/dream.png"))
    }
}

@Suite("a torchvision ResNet-18 through the visualisation commands")
struct ResNetVisualizationTests {
    @Test("visualize (with rotation, blur and diversity), activations maps, dream, invert and dip invert run on a ResNet-18 state dict with ImageNet normalisation")
    func endToEnd() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let resNet = try ResNet18(classes: 5, generator: Generator(seed: 90))
        // What safetensors.torch.save_file(model.state_dict(), path) writes: torchvision's names, no Glassbox metadata.
        let model = folder.appendingPathComponent("resnet18.safetensors").path
        try Safetensors.write(resNet.stateDict(), to: model)
        let input = folder.appendingPathComponent("photo.npy").path
        try NumpyFile.write(Tensor.rand([1, 3, 48, 48], generator: Generator(seed: 91)), to: input)
        func run(_ arguments: [String]) throws -> String {
            let result = try glassbox(arguments + ["--model", model, "--normalize", "imagenet", "--out", folder.appendingPathComponent(arguments[0]).path])
            #expect(result.status == 0, "\(arguments): \(result.error)")
            return result.output
        }
        let visualized = try run(["visualize", "--objective", "layer3:channel:17", "--objective", "probability:2", "--copies", "2", "--diversity", "layer2",
                                  "--blur", "1", "--steps", "6", "--input-shape", "3,48,48"])
        #expect(visualized.contains("layer3:channel:17:"), "\(visualized)")
        let images = try #require(Safetensors.read(folder.appendingPathComponent("visualize/images.safetensors").path).tensors["images"])
        #expect(images.shape == [4, 3, 48, 48])
        #expect(try images.min().item() >= 0 && images.max().item() <= 1)
        #expect(try String(contentsOfFile: folder.appendingPathComponent("visualize/visualize.html").path, encoding: .utf8).contains("64 filters, each on its own range"))
        #expect(try run(["activations", "maps", "--layers", "conv1,layer2", "--input", input]).contains("layer2: 128 channels of 6×6"))
        #expect(try run(["dream", "--objective", "layer2:layer", "--octaves", "2", "--steps", "2", "--input", input]).contains("on the dream"))
        #expect(try run(["invert", "--layers", "layer1,output", "--steps", "4", "--input", input]).contains("output: representation error"))
        #expect(try run(["dip", "invert", "--layer", "layer1", "--steps", "4", "--width", "8", "--levels", "2", "--input", input]).contains("deep image prior: representation error"))
    }
}
