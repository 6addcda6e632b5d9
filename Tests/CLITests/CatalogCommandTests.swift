import Foundation
import Testing
import TestSupport
import Attribution
import Torch

/// Every front end reads `MethodCatalog`: each of its methods runs through `attribute`, and each
/// scorable one through `score` and `sanity-check`, on the demo CNN's architecture.
@Suite("Command line: every catalog method")
struct CatalogCommandTests {
    @Test("attribute runs every catalog method", arguments: MethodCatalog.names)
    func attributeRunsEveryMethod(name: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let input = folder.appendingPathComponent("digits.npy").path
        try NumpyFile.write(Tensor.rand([2, 1, 28, 28], generator: Generator(seed: 7)), to: input)
        let entry = try MethodCatalog.entry(named: name)
        var arguments = ["attribute", "--model", model, "--input", input, "--method", name, "--out", folder.appendingPathComponent("out").path]
        if entry.options.contains(.neuron) { arguments += ["--layer", "9", "--neuron", "5"] }
        if entry.options.contains(.samples) { arguments += ["--samples", ["lime", "kernel-shap"].contains(name) ? "60" : "8"] }  // > 49 groups
        if entry.options.contains(.steps) { arguments += ["--steps", "4"] }
        let result = try glassbox(arguments)
        #expect(result.status == 0, "stderr: \(result.error)")
        let values = try NumpyFile.read(folder.appendingPathComponent("out/digits.\(name).npy").path)
        #expect(values.shape[0] == 2)
        #expect(try values.allFinite())
    }

    @Test("score and sanity-check take every scorable catalog method")
    func scoreAndSanityCheckTakeEveryScorableMethod() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let methods = MethodCatalog.scorableNames.joined(separator: ",")
        let score = try glassbox(["score", "--model", model, "--limit", "2", "--methods", methods, "--metrics", "sparseness",
                                  "--out", folder.appendingPathComponent("score").path])
        #expect(score.status == 0, "stderr: \(score.error)")
        for name in MethodCatalog.scorableNames { #expect(score.output.contains(name)) }
        let sanity = try glassbox(["sanity-check", "--model", model, "--limit", "1", "--methods", methods,
                                   "--out", folder.appendingPathComponent("sanity").path])
        #expect(sanity.status == 0, "stderr: \(sanity.error)")
        for name in MethodCatalog.scorableNames { #expect(sanity.output.contains("  \(name)")) }
        let unscorable = try glassbox(["score", "--model", model, "--methods", "layer-activation", "--out", folder.path])
        #expect(unscorable.status != 0 && unscorable.error.contains("unknown or unscorable method 'layer-activation'"))
    }
}
