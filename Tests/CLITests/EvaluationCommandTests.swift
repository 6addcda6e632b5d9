import Foundation
import NN
import Testing
import TestSupport
import Torch

@Suite("Command line: score and sanity-check", .serialized)
struct EvaluationCommandTests {

    @Test("score prints a method × metric table and writes per-example JSON")
    func scoreWritesTable() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        let result = try glassbox(["score", "--model", try modelFile(in: folder), "--limit", "3", "--methods", "saliency,occlusion",
                                   "--metrics", "sparseness,deletion,faithfulness-correlation", "--out", out])
        #expect(result.status == 0, "stderr: \(result.error)")
        #expect(result.output.contains("sparseness ↑") && result.output.contains("deletion ↓"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/scores.json"))) as? [String: Any]
        let cells = json?["cells"] as? [[String: Any]]
        #expect(cells?.count == 6)
        #expect((cells?.first?["values"] as? [Double])?.count == 3)
        #expect(try String(contentsOfFile: "\(out)/scores.html", encoding: .utf8).contains("faithfulness-correlation ↑"))
    }

    @Test("scoring in shards and merging gives the same values as one run")
    func shardsMerge() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let common = ["score", "--model", model, "--limit", "5", "--methods", "saliency", "--metrics", "sparseness,deletion,faithfulness-correlation"]
        let whole = try glassbox(common + ["--out", folder.appendingPathComponent("whole").path])
        #expect(whole.status == 0, "stderr: \(whole.error)")
        for k in 1...2 {
            let part = try glassbox(common + ["--shard", "\(k)/2", "--out", folder.appendingPathComponent("part\(k)").path])
            #expect(part.status == 0, "stderr: \(part.error)")
        }
        let merged = try glassbox(["merge-scores", folder.appendingPathComponent("part2/scores.json").path,
                                   folder.appendingPathComponent("part1/scores.json").path, "--out", folder.appendingPathComponent("merged").path])
        #expect(merged.status == 0, "stderr: \(merged.error)")
        func values(_ name: String) throws -> [[Double]] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("\(name)/scores.json"))) as? [String: Any]
            return ((json?["cells"] as? [[String: Any]]) ?? []).map { $0["values"] as? [Double] ?? [] }
        }
        let a = try values("whole"), b = try values("merged")
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) {
            #expect(x.count == 5 && y.count == 5)
            #expect(zip(x, y).allSatisfy { abs($0 - $1) < 1e-6 })
        }
        let gap = try glassbox(["merge-scores", folder.appendingPathComponent("part2/scores.json").path, "--out", folder.path])
        #expect(gap.status == 0)  // a single shard is a valid (partial) table
        let bad = try glassbox(["score", "--model", model, "--shard", "3/2"])
        #expect(bad.error.contains("--shard takes k/n"))
    }

    @Test("score and sanity-check reject unknown names and TorchScript where layers must change", arguments: [
        (["score", "--metrics", "beauty"], "unknown metric 'beauty'"),
        (["score", "--methods", "layer-activation"], "unknown or unscorable method 'layer-activation'"),
        (["sanity-check", "--methods", "magic"], "unknown method 'magic'"),
    ] as [([String], String)])
    func badNames(arguments: [String], expected: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try glassbox(arguments + ["--model", try modelFile(in: folder)])
        #expect(result.status != 0)
        #expect(result.error.contains(expected), "stderr: \(result.error)")
    }

    @Test("sanity-check writes its report and prints the cascading correlations")
    func sanityCheckReport() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("sc").path
        let result = try glassbox(["sanity-check", "--model", try modelFile(in: folder), "--methods", "saliency,guided-backprop",
                                   "--limit", "2", "--out", out])
        #expect(result.status == 0, "stderr: \(result.error)")
        #expect(result.output.contains("layers, output first: 10, 8, 3, 0"))
        let html = try String(contentsOfFile: "\(out)/sanity-check.html", encoding: .utf8)
        #expect(html.contains("Cascading randomisation") && html.contains("Edge detector baseline") && html.contains("<svg"))
        let data = folder.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try tinyMNIST(in: data, count: 32)
        let labels = try glassbox(["sanity-check", "--model", try modelFile(in: folder), "--methods", "saliency", "--limit", "2",
                                   "--data", data.path, "--label-randomization", "--label-epochs", "1", "--out", out])
        #expect(labels.status == 0, "stderr: \(labels.error)")
        let withLabels = try String(contentsOfFile: "\(out)/sanity-check.html", encoding: .utf8)
        #expect(withLabels.contains("training accuracy on the permuted labels") && withLabels.contains("trained on permuted labels"))
        let traced = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../NNTests/Fixtures/cnn_traced.pt").standardized.path
        let refused = try glassbox(["sanity-check", "--model", traced, "--out", out])
        #expect(refused.status != 0 && refused.error.contains("need a native Glassbox model"))
    }

    @Test("bench names the CPU, its vector extensions and the convolution path it ran on, and writes them to its JSON")
    func benchSaysWhereItRan() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try glassbox(["bench", "attribution", "--quick", "--no-peer", "--repeats", "1", "--out", folder.path],
                                  environment: ["GLASSBOX_CONVOLUTION_PATH": "plain"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("ResNet convolutions: plain") && (result.output.contains("AVX") || result.output.contains("older than AVX2")))
        let json = try String(contentsOf: folder.appendingPathComponent("attribution.json"), encoding: .utf8)
        #expect(json.contains("\"vector_extensions\"") && json.contains("\"convolution_path\" : \"plain\""))
    }

    @Test("bench attribution runs the peer once per round with one timed run and reports the medians of the rounds")
    func benchAlternates() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Reports 2 s, 4 s, then 6 s for every method, and writes an empty safetensors file (no
        // attributions to compare).
        let peer = try StandInPeer(in: folder, report: """
            printf '{"seconds": {"mnist-cnn": {"integrated-gradients": %s, "smoothgrad": %s, "occlusion": %s, "kernel-shap": %s}}, "torch": "none", "captum": "stand-in"}' $s $s $s $s > "$1/captum_results.json"
            printf '\\002\\000\\000\\000\\000\\000\\000\\000{}' > "$1/captum_attributions.safetensors"
            """)
        let result = try glassbox(["bench", "attribution", "--quick", "--repeats", "3", "--python", "sh", "--script", peer.script, "--out", folder.path])
        #expect(result.status == 0, "\(result.error)")
        let rounds = try peer.rounds()
        #expect(rounds.map { $0["repeats"] as? Int } == [1, 1, 1])
        // 32 digits in a median of 4 s, and the stand-in's name.
        #expect(result.output.split(separator: "\n").filter { $0.contains("mnist-cnn") && $0.contains(" 8.00 ") }.count == 4, "\(result.output)")
        #expect(result.output.contains("Captum stand-in") && result.output.contains("the two sides alternate"))
        #expect(result.output.split(separator: "\n").filter { $0.hasPrefix("glassbox mnist-cnn integrated-gradients, round") }.count == 3)
    }
}
