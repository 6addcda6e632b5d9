import Foundation
import TestSupport
import Testing

@Suite("Command line: senn")
struct SENNCommandTests {
    @Test("a tabular SENN trains, explains its predictions by feature, reports stability, and refuses prototypes")
    func tabularWorkflow() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("senn").path
        let train = try glassbox(["senn", "train", "--dataset", "breast-cancer", "--epochs", "8", "--out", out])
        #expect(train.status == 0, "\(train.error)")
        #expect(train.output.contains("test accuracy"))
        let model = "\(out)/model.safetensors"
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/metrics.json"))) as? [String: Any]
        #expect((metrics?["test_accuracy"] as? Double ?? 0) > 0.9)

        let evaluate = try glassbox(["evaluate", "--model", model])
        #expect(evaluate.status == 0 && evaluate.output.contains("breast-cancer") && evaluate.output.contains("malignant:"), "\(evaluate.error)")

        let explain = try glassbox(["senn", "explain", "--model", model, "--examples", "2", "--out", folder.appendingPathComponent("explain").path])
        #expect(explain.status == 0, "\(explain.error)")
        #expect(explain.output.contains("test example 0: predicted") && explain.output.contains("θ"))
        let page = try String(contentsOfFile: folder.appendingPathComponent("explain/explain.html").path, encoding: .utf8)
        #expect(page.contains("relevance θ for class") && page.contains("<svg"))

        let stability = try glassbox(["senn", "stability", "--model", model, "--examples", "5", "--samples", "3", "--steps", "2",
                                      "--out", folder.appendingPathComponent("stability").path])
        #expect(stability.status == 0, "\(stability.error)")
        #expect(stability.output.contains("median gradient-ascent Lipschitz") && stability.output.contains("as the authors' code estimates it"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("stability/stability.json").path))

        let prototypes = try glassbox(["senn", "prototypes", "--model", model, "--out", folder.appendingPathComponent("p").path])
        #expect(prototypes.status != 0 && prototypes.error.contains("prototypes are for learnt concepts"))
    }

    @Test("the same seed trains the same SENN, another seed a different one, and a resumed run the same as a straight one")
    func deterministic() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func train(_ seed: Int, _ name: String) throws -> Data {
            let out = folder.appendingPathComponent(name).path
            let result = try glassbox(["senn", "train", "--dataset", "breast-cancer", "--epochs", "3", "--seed", String(seed), "--out", out])
            #expect(result.status == 0, "\(result.error)")
            return try Data(contentsOf: URL(fileURLWithPath: "\(out)/model.safetensors"))
        }
        let first = try train(5, "a"), second = try train(5, "b"), other = try train(6, "c")
        #expect(first == second)
        #expect(first != other)
        // Two epochs, then a resume to three (with a λ warm-up, which must pick up at epoch 3), equals three straight.
        let resumed = folder.appendingPathComponent("resumed").path, straight = folder.appendingPathComponent("straight").path
        let common = ["senn", "train", "--dataset", "breast-cancer", "--robustness-warmup", "3", "--seed", "5"]
        #expect(try glassbox(common + ["--epochs", "2", "--out", resumed]).status == 0)
        let continued = try glassbox(common + ["--epochs", "3", "--resume", "--out", resumed])
        #expect(continued.status == 0 && continued.output.contains("resuming from"), "\(continued.error)")
        #expect(try glassbox(common + ["--epochs", "3", "--out", straight]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(resumed)/model.safetensors")) == Data(contentsOf: URL(fileURLWithPath: "\(straight)/model.safetensors")))
    }

    @Test("an MNIST SENN with non-negative concepts trains for an epoch, reloads as such, and draws concept prototypes")
    func mnistPrototypes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("senn").path
        let train = try glassbox(["senn", "train", "--epochs", "1", "--concepts", "3", "--nonnegative-concepts", "--out", out])
        #expect(train.status == 0, "\(train.error)")
        // The reloaded model keeps the softplus: every concept activation is positive.
        let explain = try glassbox(["senn", "explain", "--model", "\(out)/model.safetensors", "--examples", "3",
                                    "--out", folder.appendingPathComponent("x").path])
        #expect(explain.status == 0, "\(explain.error)")
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("x/explanations.json"))) as? [[String: Any]]
        let activations = (records ?? []).flatMap { $0["concepts"] as? [Double] ?? [] }
        #expect(activations.count == 9 && activations.allSatisfy { $0 > 0 })
        let prototypes = try glassbox(["senn", "prototypes", "--model", "\(out)/model.safetensors", "--count", "4",
                                       "--out", folder.appendingPathComponent("p").path])
        #expect(prototypes.status == 0, "\(prototypes.error)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("p/prototypes/prototypes-strongest.png").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("p/prototypes/prototypes-across-levels.png").path))
        // Its concepts as the features of a transparent tree.
        let tree = try glassbox(["transparent", "tree", "--features", "concepts", "--senn", "\(out)/model.safetensors", "--depths", "2",
                                 "--out", folder.appendingPathComponent("t").path])
        #expect(tree.status == 0, "\(tree.error)")
        let rules = try String(contentsOf: folder.appendingPathComponent("t/tree-depth-2.txt"), encoding: .utf8)
        #expect(rules.contains("concept"), "\(rules)")
    }

    @Test("bad SENN options and foreign model files fail with one clear line", arguments: [
        (["senn", "train", "--robustness=-1"], "--robustness must be a finite number ≥ 0"),
        (["senn", "train", "--dataset", "iris"], "iris"),
        (["senn", "sweep", "--lambdas", "0,abc"], "--lambdas must be comma-separated numbers"),
        (["senn", "train", "--robustness-penalty", "hessian"], "hessian"),
        (["senn", "explain", "--model", "/nonexistent.safetensors"], "model file not found"),
    ])
    func badOptions(arguments: [String], expected: String) throws {
        let result = try glassbox(arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(expected), "\(result.error)")
    }

    @Test("senn sweep --refit chooses λ on the validation split and retrains λ = 0 and the choice on all training rows")
    func sweepChoosesOnValidationAndRefits() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("sweep").path
        let result = try glassbox(["senn", "sweep", "--dataset", "breast-cancer", "--lambdas", "0,0.1,1", "--epochs", "4", "--examples", "5",
                                   "--refit", "--out", out])
        #expect(result.status == 0, "stderr: \(result.error)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("sweep.json"))
        let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        func number(_ row: [String: Any], _ key: String) -> Double? { (row[key] as? NSNumber)?.doubleValue }
        let sweep = Array(rows.prefix(3))
        #expect(sweep.allSatisfy { number($0, "validation_accuracy") != nil && number($0, "validation_median_lipschitz") != nil })
        // The rule, on validation numbers alone: the lowest Lipschitz estimate among λ > 0 within 1.5 points
        // of the best validation accuracy, else the most accurate.
        let best = sweep.compactMap { number($0, "validation_accuracy") }.max()!
        let eligible = sweep.filter { number($0, "robustness")! > 0 && number($0, "validation_accuracy")! >= best - 0.015 }
        let expected = eligible.min { number($0, "validation_median_lipschitz")! < number($1, "validation_median_lipschitz")! }
            ?? sweep.max { number($0, "validation_accuracy")! < number($1, "validation_accuracy")! }!
        let chosen = number(expected, "robustness")!
        #expect(result.output.contains(String(format: "λ %g chosen on the validation split", chosen)))
        // Then λ = 0 and the choice (once, if it is 0) retrained on all rows: no validation numbers, since they trained on them.
        let refits = Array(rows.dropFirst(3))
        #expect(refits.map { number($0, "robustness")! } == (chosen == 0 ? [0] : [0, chosen]))
        #expect(refits.allSatisfy { $0["validation_accuracy"] == nil })
        #expect(result.output.contains("refit on all training data: test accuracy"))
    }

    @Test("senn train holds out a validation split unless told to train on all training data")
    func trainHoldsOutValidation() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for all in [false, true] {
            let out = folder.appendingPathComponent(all ? "all" : "held").path
            let result = try glassbox(["senn", "train", "--dataset", "breast-cancer", "--epochs", "2", "--out", out] + (all ? ["--all-training-data"] : []))
            #expect(result.status == 0, "stderr: \(result.error)")
            #expect(result.output.contains("validation accuracy") == !all)
            #expect(result.output.contains(all ? "refit on all 454 training examples" : "the last 45 training examples held out for validation"))
            let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("metrics.json"))) as? [String: Any]
            #expect((metrics?["validation_accuracy"] != nil) == !all)
        }
    }

    @Test("a CNN model file is not taken for a SENN")
    func foreignModel() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try glassbox(["senn", "explain", "--model", try modelFile(in: folder)])
        #expect(result.status != 0 && result.error.contains("is not a SENN written by `glassbox senn train`"))
    }
}
