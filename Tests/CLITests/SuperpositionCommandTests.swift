import Foundation
import Testing
import TestSupport

@Suite("glassbox superposition")
struct SuperpositionCommandTests {
    @Test("a short run writes the JSON and the page with every study and prints the published checks")
    func shortRun() throws {
        let out = try temporaryFolder().path
        let result = try glassbox(["superposition", "--steps", "300", "--sparsities", "0,0.99", "--phase-grid", "2", "--phase-steps", "200",
                                   "--no-dimensionality", "--out", out, "--seed", "3"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("ReLU   1 − S = 0.01") && result.output.contains("Phase diagram"), "\(result.output)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/superposition.json"))) as? [String: Any])
        #expect((json["sweep"] as? [Any])?.count == 4 && (json["phase_diagram"] as? [Any])?.count == 4 && json["dimensionality"] == nil)
        #expect((json["privileged_basis"] as? [Any])?.count == 6)
        let page = try String(contentsOfFile: "\(out)/superposition.html", encoding: .utf8)
        #expect(page.contains("Phase diagram") && page.contains("One neuron, several inputs") && page.contains("0.824") && page.contains("Privileged basis"))
    }

    @Test("bad settings are refused with a message")
    func badSettings() throws {
        for (arguments, expected) in [(["--sparsities", "0,1.5"], "--sparsities"), (["--hidden", "20"], "--hidden"), (["--phase-grid", "1"], "--phase-grid")] {
            let result = try glassbox(["superposition"] + arguments + ["--out", try temporaryFolder().path])
            #expect(result.failedCleanly && result.error.contains(expected), "\(arguments): \(result.error)")
        }
    }
}
