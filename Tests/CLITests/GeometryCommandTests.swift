import Foundation
import Testing
import TestSupport
import Torch

@Suite("glassbox geometry")
struct GeometryCommandTests {
    @Test("a run on the demo CNN writes the JSON and the page: spectra, ranks, agreement, invariance, a chain and training")
    func run() throws {
        let folder = try temporaryFolder()
        let model = try modelFile(in: folder)
        let out = folder.appendingPathComponent("geometry").path
        let result = try glassbox(["geometry", "--model", model, "--to", "9", "--inputs", "24", "--chain", "5,9,10",
                                   "--through-training", "1", "--out", out, "--seed", "2"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("input → 9 (784 → 128, 24 inputs)") && result.output.contains("orthogonal change of basis at 9"), "\(result.output)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/geometry.json"))) as? [String: Any])
        let pair = try #require(json["pair"] as? [String: Any])
        #expect((pair["entropy_rank"] as? [Double])?.count == 24 && (pair["normalized_spectrum"] as? [[Double]])?.first?.count == 128)
        #expect((json["chain"] as? [Any])?.count == 2 && (json["invariance"] as? [Any])?.count == 2 && (json["training"] as? [Any])?.count == 2)
        let page = try String(contentsOfFile: "\(out)/geometry.html", encoding: .utf8)
        #expect(page.contains("Singular spectrum") && page.contains("Invariance under a change of basis") && page.contains("Through training")
                && page.contains("Consecutive hook points"))
    }

    @Test("a language model: its MLP sublayer token by token, the change of basis at the neurons leaves function and crossing spectra")
    func languageModel() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = folder.appendingPathComponent("lm").path
        let trained = try glassbox(["lm", "train", "--limit", "60", "--epochs", "1", "--width", "16", "--activation", "solu", "--out", lm])
        #expect(trained.status == 0, "\(trained.error)")
        let out = folder.appendingPathComponent("geometry").path
        let result = try glassbox(["geometry", "--model", "\(lm)/model.safetensors", "--to", "blocks.0.hook_mlp_post", "--inputs", "32", "--out", out])
        #expect(result.status == 0 && result.output.contains("input → blocks.0.hook_mlp_post (16 → 64, 32 inputs)"), "\(result.error)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/geometry.json"))) as? [String: Any])
        let outcomes = try #require(json["invariance"] as? [[String: Any]])
        #expect(outcomes.count == 2)
        for outcome in outcomes {
            // float32 through LayerNorms and SoLU: changes near rounding, far below the invertible change's 10⁻¹ into the layer.
            #expect((outcome["output_change"] as? Double ?? 1) < 1e-4)
            #expect(((outcome["across_layer"] as? [String: Any])?["largest_singular_value_change"] as? Double ?? 1) < 1e-4)
        }
        #expect(((outcomes[0]["into_layer"] as? [String: Any])?["largest_singular_value_change"] as? Double ?? 1) < 1e-4)
        let bad = try glassbox(["geometry", "--model", "\(lm)/model.safetensors", "--to", "blocks.0.hook_mlp_post", "--through-training", "1", "--out", out])
        #expect(bad.failedCleanly && bad.error.contains("do not apply"), "\(bad.error)")
    }

    @Test("a TorchScript model: input to output only, the rest refused")
    func torchScript() throws {
        let folder = try temporaryFolder()
        let inputs = folder.appendingPathComponent("x.npy").path
        try NumpyFile.write(Tensor.rand([6, 1, 28, 28], generator: Generator(seed: 4)), to: inputs)
        let traced = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../NNTests/Fixtures/cnn_traced.pt").standardized.path
        let result = try glassbox(["geometry", "--model", traced, "--to", "output", "--input", inputs, "--out", folder.appendingPathComponent("g").path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("input → output (784 → 10, 6 inputs)"), "\(result.output)")
        let hooked = try glassbox(["geometry", "--model", traced, "--to", "9", "--input", inputs, "--out", folder.appendingPathComponent("h").path])
        #expect(hooked.failedCleanly && hooked.error.contains("only --from input --to output"), "\(hooked.error)")
    }

    @Test("unknown hook points, reversed pairs and bad settings are refused with a message")
    func refusals() throws {
        let folder = try temporaryFolder()
        let model = try modelFile(in: folder)
        for (arguments, expected) in [(["--to", "fc2"], "no hook point 'fc2'"), (["--to", "9", "--from", "10"], "does not depend on '10'"),
                                      (["--to", "9", "--inputs", "1"], "--inputs"), (["--to", "9", "--chain", "5"], "--chain"),
                                      (["--to", "9", "--threshold", "2"], "--threshold")] {
            let result = try glassbox(["geometry", "--model", model] + arguments + ["--out", folder.appendingPathComponent("g").path])
            #expect(result.failedCleanly && result.error.contains(expected), "\(arguments): \(result.error)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("g/geometry.json").path))
    }
}
