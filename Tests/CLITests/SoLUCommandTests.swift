import Foundation
import Testing
import TestSupport

@Suite("Command line: SoLU")
struct SoLUCommandTests {
    @Test("solu trains GELU and SoLU language models on a few texts, measures their neurons, reuses them, and refuses bad settings")
    func soluComparison() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("solu").path
        let result = try glassbox(["solu", "--epochs", "1", "--width", "16", "--limit", "60", "--out", out])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("GELU: validation loss") && result.output.contains("SoLU + LN: validation loss")
                && result.output.contains("SoLU before its LN") && result.output.contains("LayerNorm after SoLU"))
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/solu.json"))) as? [String: Any]
        let models = record?["models"] as? [[String: Any]] ?? []
        #expect(models.count == 2)
        // 64 MLP neurons each, scored on both sets.
        #expect(models.allSatisfy { (($0["neurons"] as? [String: Any])?["neurons"] as? [Any])?.count == 64 })
        #expect((models.last?["top_example_overlap"] as? [Double])?.count == 64 && models.first?["before_norm"] == nil)
        #expect(try String(contentsOfFile: "\(out)/solu.html", encoding: .utf8).contains("What the LayerNorm after SoLU does"))
        let reused = try glassbox(["solu", "--reuse", "--limit", "60", "--width", "32", "--out", out])
        #expect(reused.status == 0 && (reused.output + reused.error).contains("reusing the gelu model"), "\(reused.error)")
        // The record describes the reused models, not the flags.
        let again = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/solu.json"))) as? [String: Any]
        #expect(again?["width"] as? Int == 16 && again?["epochs"] as? Int == 1)
        let bad = try glassbox(["solu", "--width", "10", "--out", out])
        #expect(bad.failedCleanly && bad.error.contains("multiple of 4"), "\(bad.error)")
        let badK = try glassbox(["solu", "--top-k", "0", "--out", out])
        #expect(badK.failedCleanly && badK.error.contains("--top-k"))
    }
}
