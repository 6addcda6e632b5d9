import Foundation
import Testing
import TestSupport
import Torch

/// Every reproduction runs in its quick form, so one that breaks is noticed.
@Suite("Command line: reproduce")
struct ReproduceCommandTests {
    @Test("reproduce --list names every reproduction with its cost", arguments: [["--list"]])
    func list(arguments: [String]) throws {
        let result = try glassbox(["reproduce"] + arguments)
        #expect(result.status == 0 && result.output.contains("senn") && result.output.contains("sanity-checks") && result.output.contains("--quick"))
        let unknown = try glassbox(["reproduce", "alchemy"])
        #expect(unknown.failedCleanly && unknown.error.contains("unknown reproduction 'alchemy'"))
    }

    @Test("each reproduction runs --quick and writes a verdict per claim, with the published figure beside ours", arguments: ["senn", "sanity-checks", "transparent-baselines"])
    func quickRuns(name: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try glassbox(["reproduce", name, "--quick", "--out", folder.path])
        #expect(result.status == 0, "\(result.error)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("result.json"))) as? [String: Any]
        let claims = report?["claims"] as? [[String: Any]] ?? []
        #expect(claims.count >= 3 && report?["quick"] as? Bool == true)
        for claim in claims {
            #expect(!(claim["published"] as? String ?? "").isEmpty && !(claim["ours"] as? String ?? "").isEmpty)
            #expect(["met", "not met", "differs"].contains(claim["verdict"] as? String ?? ""))
        }
        #expect(result.output.components(separatedBy: "\n").filter { $0.hasPrefix("MET:") || $0.hasPrefix("NOT MET:") || $0.hasPrefix("DIFFERS:") }.count == claims.count)
        // --table reads <root>/<name>/result.json.
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: folder, to: root.appendingPathComponent(name))
        let markdown = try glassbox(["reproduce", "--table", "--out", root.path])
        #expect(markdown.status == 0 && markdown.output.contains("| `\(name)` (") && markdown.output.contains(", quick run"), "\(markdown)")
        let page = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(page.contains("published") && page.contains("verdict"))
    }
}
