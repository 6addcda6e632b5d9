import Foundation
import NN
import Testing
import TestSupport
import Torch

@Suite("glassbox attack")
struct AttackCommandTests {
    @Test("every attack on the demo CNN, with transfer: curves, the page, the examples file; accuracy starts at the clean accuracy")
    func run() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let out = folder.appendingPathComponent("attack").path
        let result = try glassbox(["attack", "--model", model, "--method", "all", "--eps", "0,0.1,0.3", "--steps", "3", "--search-steps", "2",
                                   "--inputs", "12", "--transfer-to", model, "--out", out])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("pgd (L∞") && result.output.contains("cw (L2"), "\(result.output)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/attack.json"))) as? [String: Any])
        let clean = try #require(json["clean_accuracy"] as? Double)
        let curves = try #require(json["curves"] as? [[String: Any]])
        #expect(curves.map { $0["method"] as? String } == ["fgsm", "bim", "pgd", "pgd-l2", "cw"])
        for curve in curves {
            let points = try #require(curve["points"] as? [[String: Any]])
            #expect(points.count == 3 && points[0]["accuracy"] as? Double == clean)
            // Transferring to the same model is attacking it: the same accuracy.
            if curve["method"] as? String != "cw" { #expect(points.allSatisfy { $0["accuracy"] as? Double == $0["transfer_accuracy"] as? Double }) }
            if curve["norm"] as? String == "linf" { #expect(points.allSatisfy { ($0["mean_l_infinity"] as? Double ?? 1) <= ($0["epsilon"] as? Double ?? 0) + 1e-6 }) }
        }
        let examples = try Safetensors.read("\(out)/adversarial.safetensors").tensors
        #expect(examples["pgd.adversarial"]?.shape == [12, 1, 28, 28] && examples["labels"]?.shape == [12])
        let page = try String(contentsOfFile: "\(out)/attack.html", encoding: .utf8)
        #expect(page.contains("Accuracy against ε (L∞)") && page.contains("Accuracy against ε (L2)") && page.contains("images/cw.png"))
    }

    @Test("bad flags and inputs are refused before any work")
    func refusals() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let out = folder.appendingPathComponent("a").path
        for (arguments, message) in [(["--method", "deepfool"], "unknown attack 'deepfool'"), (["--eps", "0.1,-1"], "--eps takes"),
                                     (["--c", "0"], "Carlini–Wagner needs"), (["--steps", "0"], "--steps must be at least 1")] {
            let result = try glassbox(["attack", "--model", model, "--out", out] + arguments)
            #expect(result.failedCleanly && result.error.contains(message), "\(arguments): \(result.error)")
        }
        let inputs = folder.appendingPathComponent("x.npy").path
        try NumpyFile.write(Tensor.full([2, 1, 28, 28], value: 2), to: inputs)
        let outside = try glassbox(["attack", "--model", model, "--input", inputs, "--out", out])
        #expect(outside.failedCleanly && outside.error.contains("outside the valid range"), "\(outside.error)")
        #expect(!FileManager.default.fileExists(atPath: "\(out)/attack.json"))
    }

    @Test("adversarial training writes a model that attacks read; a bad ε is refused")
    func adversarialTraining() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try tinyMNIST(in: folder, count: 64)
        let out = folder.appendingPathComponent("robust").path
        let result = try glassbox(["adversarial-train", "--method", "pgd", "--steps", "2", "--eps", "0.2", "--epochs", "1",
                                   "--data", folder.path, "--out", out])
        #expect(result.status == 0 && result.output.contains("clean test accuracy"), "\(result.error)")
        let metadata = try Checkpoint.metadata(at: "\(out)/checkpoint.safetensors")
        #expect(metadata.values.contains { $0.contains("adversarial pgd ε 0.2 steps 2") }, "\(metadata)")
        let attacked = try glassbox(["attack", "--model", "\(out)/model.safetensors", "--method", "fgsm", "--eps", "0,0.2", "--inputs", "8",
                                     "--out", folder.appendingPathComponent("a").path])
        #expect(attacked.status == 0, "\(attacked.error)")
        let bad = try glassbox(["adversarial-train", "--eps", "1.5", "--data", folder.path, "--out", out])
        #expect(bad.failedCleanly && bad.error.contains("ε in (0, 1)"), "\(bad.error)")
    }

    @Test("the linear explanation: FGSM's margin drop equals ε‖θ‖₁, which grows with the dimension")
    func linear() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("linear").path
        let result = try glassbox(["attack", "linear", "--dimensions", "10,400", "--out", out])
        #expect(result.status == 0, "\(result.error)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/linear.json"))) as? [String: Any])
        let rows = try #require(json["rows"] as? [[String: Any]])
        let l1 = rows.compactMap { $0["weight_l1"] as? Double }
        #expect(l1.count == 2 && l1[1] > 3 * l1[0])
        for row in rows {
            let drop = try #require(row["measured_change"] as? Double), bound = try #require(row["bound"] as? Double)
            // FGSM reaches the bound wherever no feature is clipped at 0 or 1 (features sit near 0.5).
            #expect(drop <= bound * (1 + 1e-5) && drop >= bound * 0.98, "\(drop) vs \(bound)")
        }
    }

    @Test("bench attack runs the peer once per round with one timed run, asks for examples in the last, and reports the peer's median")
    func benchAlternates() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Reports 2 s, then 4 s.
        let peer = try StandInPeer(in: folder, report: """
            printf '{"seconds": {"mnist-cnn": %s}, "torch": "none", "torchattacks": "stand-in"}' "$s" > "$1/attack_results.json"
            """)
        let result = try glassbox(["bench", "attack", "--quick", "--repeats", "2", "--python", "sh", "--script", peer.script])
        #expect(result.status == 0, "\(result.error)")
        let rounds = try peer.rounds()
        #expect(rounds.map { $0["repeats"] as? Int } == [1, 1])
        #expect(rounds.map { $0["examples"] as? Bool } == [false, true])
        #expect(result.output.contains("3.00 s") && result.output.contains("torchattacks stand-in"))
        #expect(result.output.split(separator: "\n").filter { $0.hasPrefix("glassbox mnist-cnn, round") }.count == 2)
    }
}
