import Foundation
import Testing
import TestSupport
import Torch

@Suite("Command line: sparse autoencoders")
struct SAECommandTests {
    @Test("collect a language model's MLP activations in parts, train an autoencoder, evaluate it with the loss recovered")
    func languageModelPipeline() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = folder.appendingPathComponent("lm").path
        #expect(try glassbox(["lm", "train", "--limit", "60", "--epochs", "1", "--width", "16", "--out", lm]).status == 0)
        let store = folder.appendingPathComponent("acts").path, held = folder.appendingPathComponent("held").path
        for part in ["0/2", "1/2"] {
            let collected = try glassbox(["activations", "collect", "--model", "\(lm)/model.safetensors", "--hook", "blocks.0.hook_mlp_post",
                                          "--limit", "600", "--shard", part, "--out", store])
            #expect(collected.status == 0 && collected.output.contains("of 64 values"), "\(collected.error)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: store)
        #expect(files.contains { $0.hasPrefix("part-0-of-2-") } && files.contains { $0.hasPrefix("part-1-of-2-") })
        #expect(try glassbox(["activations", "collect", "--model", "\(lm)/model.safetensors", "--hook", "blocks.0.hook_mlp_post", "--split", "validation",
                              "--limit", "100", "--out", held]).status == 0)
        let sae = folder.appendingPathComponent("sae").path
        let trained = try glassbox(["sae", "train", "--activations", store, "--evaluation", held, "--steps", "200", "--batch-size", "256",
                                    "--warmup", "20", "--expansion", "2", "--resample-at", "100", "--dead-window", "50", "--out", sae])
        #expect(trained.status == 0 && trained.output.contains("variance explained") && trained.output.contains("live features per firing frequency"),
                "\(trained.error)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(sae)/metrics.json"))) as? [String: Any]
        #expect((metrics?["reports"] as? [Any])?.count == 20 && ((metrics?["configuration"] as? [String: Any])?["features"] as? Int) == 128)
        #expect(FileManager.default.fileExists(atPath: "\(sae)/checkpoint.safetensors"))
        let otherSettings = try glassbox(["sae", "train", "--activations", store, "--steps", "200", "--batch-size", "256", "--warmup", "20",
                                          "--expansion", "2", "--resample-at", "100", "--dead-window", "50", "--l1", "0.5", "--resume", "--out", sae])
        #expect(otherSettings.failedCleanly && otherSettings.error.contains("other settings"), "\(otherSettings.error)")
        let evaluated = try glassbox(["sae", "evaluate", "--sae", "\(sae)/sae.safetensors", "--activations", held, "--model", "\(lm)/model.safetensors"])
        #expect(evaluated.status == 0 && evaluated.output.contains("loss recovered") && evaluated.output.contains("live of 128)") && evaluated.output.contains("neurons: one-token share"), "\(evaluated.error)")
        // The last checkpoint holds the same dictionary as sae.safetensors.
        let fromCheckpoint = try glassbox(["sae", "evaluate", "--sae", "\(sae)/checkpoint.safetensors", "--activations", held])
        let varianceLine = { (text: String) in text.split(separator: "\n").first { $0.contains("variance explained") } }
        #expect(fromCheckpoint.status == 0 && varianceLine(fromCheckpoint.output) != nil && varianceLine(fromCheckpoint.output) == varianceLine(evaluated.output),
                "\(fromCheckpoint.output)\n\(fromCheckpoint.error)")
        let dashboard = try glassbox(["sae", "dashboard", "--sae", "\(sae)/sae.safetensors", "--model", "\(lm)/model.safetensors", "--count", "3",
                                      "--out", folder.appendingPathComponent("dash").path])
        #expect(dashboard.status == 0 && dashboard.output.components(separatedBy: "feature ").count == 4, "\(dashboard.error)")
        let page = try String(contentsOfFile: folder.appendingPathComponent("dash/dashboard.html").path, encoding: .utf8)
        #expect(page.contains("sampled across intervals") && page.contains("promotes"))
        let badFeature = try glassbox(["sae", "dashboard", "--sae", "\(sae)/sae.safetensors", "--model", "\(lm)/model.safetensors", "--features", "999",
                                       "--out", folder.appendingPathComponent("dash").path])
        #expect(badFeature.failedCleanly && badFeature.error.contains("does not exist"), "\(badFeature.error)")
        let steered = try glassbox(["sae", "steer", "--sae", "\(sae)/sae.safetensors", "--model", "\(lm)/model.safetensors", "--feature", "3",
                                    "--value", "20", "--text", "i love the"])
        #expect(steered.status == 0 && steered.output.contains("feature 3 at the last token") && steered.output.contains("next token"), "\(steered.error)")
        let kl = Double(steered.output.components(separatedBy: "KL(before ‖ after) ").last?.split(separator: " ").first ?? "") ?? 0
        #expect(kl > 0, "clamping a feature to 20 should move the prediction: \(steered.output)")
        // Clamped to the value it already has, nothing moves.
        let original = steered.output.components(separatedBy: "at the last token: ").last?.split(separator: " ").first.map(String.init) ?? "x"
        let unchanged = try glassbox(["sae", "steer", "--sae", "\(sae)/sae.safetensors", "--model", "\(lm)/model.safetensors", "--feature", "3",
                                      "--value", original, "--text", "i love the"])
        #expect(unchanged.status == 0 && unchanged.output.contains("KL(before ‖ after) 0.0000"), "\(unchanged.output)")
        let badSteer = try glassbox(["sae", "steer", "--sae", "\(sae)/sae.safetensors", "--model", "\(lm)/model.safetensors", "--feature", "500",
                                     "--value", "1", "--text", "hi"])
        #expect(badSteer.failedCleanly && badSteer.error.contains("does not exist"))
        // A second seed of the autoencoder and of the language model: matched features and neurons.
        let sae2 = folder.appendingPathComponent("sae2").path, lm2 = folder.appendingPathComponent("lm2").path
        #expect(try glassbox(["sae", "train", "--activations", store, "--steps", "100", "--batch-size", "256", "--warmup", "20", "--expansion", "2",
                              "--seed", "1", "--out", sae2]).status == 0)
        #expect(try glassbox(["lm", "train", "--limit", "60", "--epochs", "1", "--width", "16", "--seed", "1", "--out", lm2]).status == 0)
        let matched = try glassbox(["sae", "match", "--sae", "\(sae)/sae.safetensors", "--other", "\(sae2)/sae.safetensors", "--activations", held,
                                    "--model", "\(lm)/model.safetensors", "--other-model", "\(lm2)/model.safetensors"])
        #expect(matched.status == 0 && matched.output.contains("features: median max correlation") && matched.output.contains("neurons at blocks.0.hook_mlp_post"),
                "\(matched.error)")
        let half = try glassbox(["sae", "match", "--sae", "\(sae)/sae.safetensors", "--other", "\(sae2)/sae.safetensors", "--activations", held,
                                 "--model", "\(lm)/model.safetensors"])
        #expect(half.failedCleanly && half.error.contains("--other-model"))
        // Feature splitting: the ×2 autoencoder against a ×4 one (given larger first), labelled with tokens.
        let sae4 = folder.appendingPathComponent("sae4").path, splitOut = folder.appendingPathComponent("split").path
        #expect(try glassbox(["sae", "train", "--activations", store, "--steps", "100", "--batch-size", "256", "--warmup", "20", "--expansion", "4",
                              "--out", sae4]).status == 0)
        let split = try glassbox(["sae", "split", "--sae", "\(sae4)/sae.safetensors", "--sae", "\(sae)/sae.safetensors", "--activations", held,
                                  "--model", "\(lm)/model.safetensors", "--threshold", "0.3", "--out", splitOut])
        #expect(split.status == 0 && split.output.contains("128 → 256 features"), "\(split.error)")
        let splitPage = try String(contentsOfFile: "\(splitOut)/split.html", encoding: .utf8)
        #expect(splitPage.contains("Families") && splitPage.contains("median family correlation"))
        let sameSize = try glassbox(["sae", "split", "--sae", "\(sae)/sae.safetensors", "--sae", "\(sae2)/sae.safetensors", "--activations", held, "--out", splitOut])
        #expect(sameSize.failedCleanly && sameSize.error.contains("each larger than the last"), "\(sameSize.error)")
        let single = try glassbox(["sae", "split", "--sae", "\(sae)/sae.safetensors", "--activations", held, "--out", splitOut])
        #expect(single.failedCleanly && single.error.contains("at least two"), "\(single.error)")
        // Refusals: a bad part, an empty store, a foreign file, a bad setting.
        let badShard = try glassbox(["activations", "collect", "--model", "\(lm)/model.safetensors", "--hook", "x", "--shard", "2/2", "--out", store])
        #expect(badShard.failedCleanly && badShard.error.contains("k/n"))
        let empty = try glassbox(["sae", "train", "--activations", folder.path, "--out", sae])
        #expect(empty.failedCleanly && empty.error.contains("glassbox activations collect"), "\(empty.error)")
        let foreign = try glassbox(["sae", "evaluate", "--sae", "\(lm)/model.safetensors", "--activations", held])
        #expect(foreign.failedCleanly && foreign.error.contains("not a sparse autoencoder"))
        let badK = try glassbox(["sae", "train", "--activations", store, "--top-k", "0", "--out", sae])
        #expect(badK.failedCleanly && badK.error.contains("--top-k"))
        let hook = try glassbox(["activations", "collect", "--model", "\(lm)/model.safetensors", "--hook", "blocks.9.hook_mlp_post", "--limit", "10", "--out", store])
        #expect(hook.failedCleanly && hook.error.contains("no hook point"), "\(hook.error)")
    }

    @Test("the MNIST CNN's hidden layer into a store, and the synthetic dictionary recovered")
    func cnnAndSynthetic() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let store = folder.appendingPathComponent("acts").path
        let collected = try glassbox(["activations", "collect", "--model", model, "--hook", "9", "--limit", "300", "--out", store])
        #expect(collected.status == 0 && collected.output.contains("300 rows of 128 values"), "\(collected.error)")
        let validation = try glassbox(["activations", "collect", "--model", model, "--hook", "9", "--split", "validation", "--out", store])
        #expect(validation.failedCleanly && validation.error.contains("no validation split"))
        // An autoencoder on those rows, and its dashboards with digits.
        let sae = folder.appendingPathComponent("sae").path
        let trained = try glassbox(["sae", "train", "--activations", store, "--steps", "30", "--batch-size", "64", "--warmup", "5", "--expansion", "2", "--out", sae])
        #expect(trained.status == 0, "\(trained.error)")
        let dashboard = folder.appendingPathComponent("dashboard").path
        let shown = try glassbox(["sae", "dashboard", "--sae", "\(sae)/sae.safetensors", "--model", model, "--count", "3", "--out", dashboard])
        #expect(shown.status == 0 && shown.output.contains("label purity of the top 20 digits"), "\(shown.error)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dashboard)/dashboard.json"))) as? [String: Any])
        let features = try #require(json["features"] as? [[String: Any]])
        #expect(features.count == 3 && features.allSatisfy { ($0["promoted"] as? [Any])?.count == 3 })
        #expect(try String(contentsOfFile: "\(dashboard)/dashboard.html", encoding: .utf8).contains("prototype.png"))
        let missing = try glassbox(["sae", "dashboard", "--sae", "\(sae)/sae.safetensors", "--model", model, "--features", "999", "--out", dashboard])
        #expect(missing.failedCleanly && missing.error.contains("feature 999 does not exist"), "\(missing.error)")
        let synthetic = try glassbox(["sae", "synthetic", "--features", "24", "--dimension", "12", "--density", "0.08", "--expansion", "2", "--l1", "0.3",
                                      "--steps", "3000", "--batch-size", "256", "--warmup", "100", "--learning-rate", "3e-3"])
        #expect(synthetic.status == 0 && synthetic.output.contains("(target ≥ 0.9: met)"), "\(synthetic.output)")
    }

    @Test("two processes train one autoencoder data-parallel on their own shards; a missing, absent or dying peer fails with what to do")
    func dataParallel() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let store = folder.appendingPathComponent("acts").path
        let collected = try glassbox(["activations", "collect", "--model", model, "--hook", "9", "--limit", "400", "--rows-per-shard", "100", "--out", store])
        #expect(collected.status == 0 && collected.output.contains("400 rows of 128 values in 4 shard(s)"), "\(collected.output)\(collected.error)")
        func ranks(_ world: Int, port: Int) -> [[String: String]] {
            (0..<world).map { ["MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)", "WORLD_SIZE": "\(world)", "RANK": "\($0)"] }
        }
        let sae = folder.appendingPathComponent("sae").path
        let options = ["sae", "train", "--activations", store, "--distributed", "--timeout", "60", "--batch-size", "64", "--warmup", "5",
                       "--expansion", "2", "--resample-at", "20", "--dead-window", "10", "--out", sae]
        let results = try ranks(2, port: freePort()).map { try RunningCommand(options + ["--steps", "40"], environment: $0) }.map { $0.finish() }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.error))")
        #expect(results[1].output.contains("rank 1 of 2 done") && results[0].output.contains("autoencoder: \(sae)/sae.safetensors"))
        let metrics = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(sae)/metrics.json"))) as? [String: Any])
        #expect(metrics["steps"] as? Int == 40 && metrics["batch_size"] as? Int == 64)

        let unset = try glassbox(options, unsetting: ["MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK"])
        #expect(unset.failedCleanly && unset.error.contains("MASTER_ADDR is not set"), "\(unset.error)")
        let alone = try glassbox(options + ["--timeout", "2"], environment: ranks(2, port: freePort())[0])
        #expect(alone.failedCleanly && alone.error.contains("rank 0 of 2 could not join the group"), "\(alone.error)")

        // Rank 1 killed (SIGKILL, as a crash) once training runs (rank 0 has written a checkpoint): rank 0 stops with the reason, its checkpoint kept.
        let dying = folder.appendingPathComponent("dying").path
        try? FileManager.default.removeItem(atPath: dying)
        let long = options.map { $0 == sae ? dying : $0 } + ["--steps", "1000000", "--checkpoint-every", "5"]
        let pair = try ranks(2, port: freePort()).map { try RunningCommand(long, environment: $0) }
        let checkpoint = "\(dying)/checkpoint.safetensors"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint), Date() < deadline, pair[0].process.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        kill(pair[1].process.processIdentifier, SIGKILL)
        _ = pair[1].finish()
        let survivor = pair[0].finish()
        #expect(survivor.failedCleanly && survivor.error.contains("A peer stopped or lost its connection"),
                "status \(survivor.status), crashed \(survivor.crashed): \(survivor.error)")
        #expect(FileManager.default.fileExists(atPath: checkpoint))
    }
}
