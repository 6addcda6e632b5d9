import Foundation
import NN
import Testing
import TestSupport
import Torch

@Suite("Command line: text")
struct TextCommandTests {
    /// A folder shaped like all-MiniLM-L6-v2's, holding a tiny random BERT (no download in tests).
    static func tinyModelFolder(in folder: URL) throws -> String {
        var configuration = BERT.Configuration()
        (configuration.vocabularySize, configuration.hiddenSize, configuration.layers, configuration.heads) = (40, 16, 1, 2)
        (configuration.intermediateSize, configuration.maxPositions) = (32, 24)
        let model = try BERT(configuration, generator: Generator(seed: 3))
        let path = folder.appendingPathComponent("tiny").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Safetensors.write(model.stateDict(), to: "\(path)/model.safetensors")
        let config: [String: Any] = ["vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                                     "intermediate_size": 32, "max_position_embeddings": 24, "type_vocab_size": 2, "hidden_act": "gelu"]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(path)/config.json"))
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "car", "cars", "drive", "##s", "self", "-", "driving", "!", ","]
            + (15..<40).map { "w\($0)" }
        try (vocabulary.joined(separator: "\n") + "\n").write(toFile: "\(path)/vocab.txt", atomically: true, encoding: .utf8)
        return path
    }

    @Test("text embed writes unit-length embeddings for --text and --texts, truncating long texts")
    func embed() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try Self.tinyModelFolder(in: folder)
        let lines = folder.appendingPathComponent("texts.txt")
        try "the cars drive\nself-driving cars!\n\n\(String(repeating: "the car, ", count: 40))\n".write(to: lines, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("out").path
        let result = try glassbox(["text", "embed", "--minilm", model, "--text", "the car", "--texts", lines.path, "--out", out])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("4 texts embedded (16 dimensions)") && result.output.contains("cosine similarities"))
        let embeddings = try Safetensors.read("\(out)/embeddings.safetensors").tensors["embeddings"]!
        #expect(embeddings.shape == [4, 16])
        #expect(try maxDifference(embeddings.norm(dims: [1]), Tensor.ones([4])) < 1e-5)
    }

    @Test("attention agreement on a MiniLM probe scores every layer and head over content tokens")
    func probeAgreement() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try Self.tinyModelFolder(in: folder)
        let out = folder.appendingPathComponent("probe").path
        let trained = try glassbox(["text", "train", "--arch", "minilm-probe", "--minilm", model, "--limit", "60", "--out", out])
        #expect(trained.status == 0, "\(trained.error)")
        let agreement = try glassbox(["attention", "agreement", "--model", "\(out)/model.safetensors", "--minilm", model, "--limit", "8", "--steps", "4",
                                      "--out", "\(out)/attention"])
        #expect(agreement.status == 0 && agreement.output.contains("layer 0 mean of heads vs leave-one-out: mean τ"), "\(agreement.error)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/attention/agreement-minilm-probe.json"))) as? [String: Any]
        let result = record?["result"] as? [String: Any]
        // One layer of two heads: two heads and their mean (rollout needs two layers).
        #expect(result?["texts"] as? Int == 8 && result?["steps"] as? Int == 4 && (result?["sources"] as? [Any])?.count == 3)
        #expect(try String(contentsOfFile: "\(out)/attention/attention.html", encoding: .utf8).contains("MiniLM's attention heads"))
        let badSteps = try glassbox(["attention", "agreement", "--model", "\(out)/model.safetensors", "--steps", "0"])
        #expect(badSteps.failedCleanly && badSteps.error.contains("--steps"))
        // MiniLM as a source of activations for a sparse autoencoder, its reconstruction spliced back in.
        let store = "\(out)/acts"
        let collected = try glassbox(["activations", "collect", "--model", "\(out)/model.safetensors", "--minilm", model, "--hook",
                                      "bert.encoder.layer.0.hook_resid_post", "--limit", "30", "--out", store])
        #expect(collected.status == 0 && collected.output.contains("of 16 values"), "\(collected.error)")
        #expect(try glassbox(["sae", "train", "--activations", store, "--steps", "30", "--batch-size", "64", "--warmup", "5", "--expansion", "2",
                              "--out", "\(out)/sae"]).status == 0)
        let spliced = try glassbox(["sae", "evaluate", "--sae", "\(out)/sae/sae.safetensors", "--activations", store, "--model", "\(out)/model.safetensors",
                                    "--minilm", model])
        #expect(spliced.status == 0 && spliced.output.contains("sentence embeddings' mean cosine"), "\(spliced.error)")
    }

    @Test("text embed explains a missing or wrong model folder and missing texts")
    func errors() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = try glassbox(["text", "embed", "--minilm", folder.path, "--text", "hi", "--out", folder.appendingPathComponent("o").path])
        #expect(missing.failedCleanly && missing.error.contains("has no config.json"), "\(missing.error)")
        let model = try Self.tinyModelFolder(in: folder)
        try Safetensors.write(["x": Tensor.zeros([2])], to: "\(model)/model.safetensors")
        let wrong = try glassbox(["text", "embed", "--minilm", model, "--text", "hi", "--out", folder.appendingPathComponent("o").path])
        #expect(wrong.failedCleanly && wrong.error.contains("is not all-MiniLM-L6-v2's BERT"), "\(wrong.error)")
        let none = try glassbox(["text", "embed", "--minilm", model])
        #expect(none.failedCleanly && none.error.contains("give --text"))
    }
}

@Suite("Command line: text classifiers")
struct TextClassifierCommandTests {
    @Test("text train runs each architecture on a few texts, writes a model that text evaluate reads", arguments: ["bilstm-attention", "transformer"])
    func trainAndEvaluate(_ arch: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent(arch).path
        let trained = try glassbox(["text", "train", "--arch", arch, "--task", "three-class", "--epochs", "1", "--limit", "120", "--batch-size", "32", "--out", out])
        #expect(trained.status == 0, "\(trained.error)")
        #expect(trained.output.contains("test accuracy") && !trained.output.contains("TF-IDF"))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/metrics.json"))) as? [String: Any]
        #expect((metrics?["test"] as? [String: Any])?["class_f1"] as? [Double] != nil && (metrics?["epochs"] as? [Any])?.count == 1)
        let evaluated = try glassbox(["text", "evaluate", "--model", "\(out)/model.safetensors"])
        #expect(evaluated.status == 0 && evaluated.output.contains("\(arch) on the three-class test split"), "\(evaluated.error)")
        let explained = try glassbox(["text", "explain", "--model", "\(out)/model.safetensors", "--text", "I love driverless cars, truly!",
                                      "--steps", "32", "--out", "\(out)/explain"])
        #expect(explained.status == 0, "\(explained.error)")
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/explain/tokens.json"))) as? [[String: Any]] ?? []
        let tokens = records.first?["tokens"] as? [String] ?? []
        let scores = records.first?["scores"] as? [String: [Double]] ?? [:]
        #expect(!tokens.isEmpty && scores.values.allSatisfy { $0.count == tokens.count })
        #expect(Set(scores.keys).isSuperset(of: ["integrated-gradients", "gradient-x-input", "leave-one-out", "shapley-sampling", "lime"]))
        #expect((scores["attention"] != nil) == (arch == "bilstm-attention"))
        // Completeness: IG's attributions add up to the change of the target logit from the all-padding baseline.
        #expect((records.first?["convergence_delta"] as? Double ?? 1) < 1e-3)
        // The same model through `glassbox attribute --text`: a perturbation method and a layer method at the embedding.
        for arguments in [["--method", "shapley-value-sampling", "--samples", "5"], ["--method", "kernel-shap", "--samples", "40"], ["--method", "lime", "--samples", "40"],
                          ["--method", "occlusion"], ["--method", "layer-integrated-gradients", "--layer", "embedding"]] {
            let attributed = try glassbox(["attribute", "--model", "\(out)/model.safetensors", "--text", "I love driverless cars", "--out", "\(out)/attribute"] + arguments)
            #expect(attributed.status == 0 && attributed.output.contains("love"), "\(arguments): \(attributed.error)")
        }
        let lines = "\(out)/texts.txt"
        try "I love driverless cars\nno way\n".write(toFile: lines, atomically: true, encoding: .utf8)
        let fromFile = try glassbox(["attribute", "--model", "\(out)/model.safetensors", "--texts", lines, "--method", "feature-ablation", "--out", "\(out)/attribute"])
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/attribute/tokens.json"))) as? [[String: Any]] ?? []
        #expect(fromFile.status == 0 && written.count == 2, "\(fromFile.error)")
        let refused = try glassbox(["attribute", "--model", "\(out)/model.safetensors", "--text", "hi", "--method", "saliency", "--out", "\(out)/attribute"])
        #expect(refused.failedCleanly && refused.error.contains("integer baseline"))
        // Jain & Wallace's experiments need the attention model; the transformer is refused with the command to run.
        let agreement = try glassbox(["attention", "agreement", "--model", "\(out)/model.safetensors", "--limit", "30", "--out", "\(out)/attention"])
        if arch == "bilstm-attention" {
            #expect(agreement.status == 0 && agreement.output.contains("attention vs gradient: mean τ"), "\(agreement.error)")
            let permuted = try glassbox(["attention", "permute", "--model", "\(out)/model.safetensors", "--limit", "10", "--permutations", "20",
                                         "--out", "\(out)/attention"])
            #expect(permuted.status == 0 && permuted.output.contains("10 texts"), "\(permuted.error)")
            let adversary = try glassbox(["attention", "adversary", "--model", "\(out)/model.safetensors", "--limit", "6", "--steps", "30",
                                          "--out", "\(out)/attention"])
            #expect(adversary.status == 0 && adversary.output.contains("6 texts;"), "\(adversary.error)")
            let guided = try glassbox(["attention", "guided", "--model", "\(out)/model.safetensors", "--limit", "20", "--epochs", "1",
                                       "--out", "\(out)/attention"])
            #expect(guided.status == 0 && guided.output.contains("token MLP, imposed attention"), "\(guided.error)")
            let consistent = try glassbox(["attention", "consistent", "--model", "\(out)/model.safetensors", "--limit", "20", "--epochs", "1",
                                           "--lambdas", "0.1", "--out", "\(out)/attention"])
            #expect(consistent.status == 0 && consistent.output.contains("λ = 0.1: mean TVD"), "\(consistent.error)")
            let badLambda = try glassbox(["attention", "consistent", "--model", "\(out)/model.safetensors", "--lambdas", "-1", "--out", "\(out)/attention"])
            #expect(badLambda.failedCleanly && badLambda.error.contains("--lambdas"))
            let wrongKind = try glassbox(["attention", "report", "--model", "\(out)/model.safetensors", "--transformer", "\(out)/model.safetensors",
                                          "--out", "\(out)/report"])
            #expect(wrongKind.failedCleanly && wrongKind.error.contains("is a BiLSTM; name it with --model"), "\(wrongKind.error)")
            let report = try glassbox(["attention", "report", "--model", "\(out)/model.safetensors", "--limit", "12", "--out", "\(out)/report"])
            #expect(report.status == 0 && report.output.contains("all experiments") && report.output.contains("model-consistent adversary: λ 0.01"),
                    "\(report.error)")
            let page = try String(contentsOfFile: "\(out)/attention/attention.html", encoding: .utf8)
            #expect(page.contains("A whole model with other attention"))
            #expect(page.contains("Does attention rank tokens") && page.contains("shuffled") && page.contains("Is there other attention")
                    && page.contains("without context"))
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/attention/agreement.json"))) as? [String: Any]
            #expect((record?["texts"] as? [Any])?.count == 30)
        } else {
            // The transformer: every head against three measures; the other experiments need the BiLSTM's attention.
            #expect(agreement.status == 0 && agreement.output.contains("layer 0 mean of heads vs Integrated Gradients: mean τ"), "\(agreement.error)")
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/attention/agreement-transformer.json"))) as? [String: Any]
            let result = record?["result"] as? [String: Any]
            #expect(result?["texts"] as? Int == 30 && (result?["sources"] as? [Any])?.count == 5)
            #expect(try String(contentsOfFile: "\(out)/attention/attention.html", encoding: .utf8).contains("a transformer's attention heads"))
            let permuted = try glassbox(["attention", "permute", "--model", "\(out)/model.safetensors", "--limit", "10", "--permutations", "20",
                                         "--out", "\(out)/attention"])
            #expect(permuted.status == 0 && permuted.output.contains("10 texts") && permuted.output.contains("median change over all texts"), "\(permuted.error)")
            #expect(FileManager.default.fileExists(atPath: "\(out)/attention/permutation-transformer.json"))
            #expect(try String(contentsOfFile: "\(out)/attention/attention.html", encoding: .utf8).contains("the transformer's attention is shuffled"))
            let adversary = try glassbox(["attention", "adversary", "--model", "\(out)/model.safetensors", "--limit", "5", "--out", "\(out)/attention"])
            #expect(adversary.failedCleanly && adversary.error.contains("--arch bilstm-attention"), "\(adversary.error)")
        }
    }

    @Test("attention baseline trains seeds and uniform attention, and writes the comparison")
    func attentionBaseline() throws {
        let out = try temporaryFolder().path
        let result = try glassbox(["attention", "baseline", "--seeds", "0,1", "--epochs", "1", "--limit", "40", "--out", out])
        #expect(result.status == 0 && result.output.contains("uniform attention, seed 0") && result.output.contains("over 40 test texts"), "\(result.error)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/baseline.json"))) as? [String: Any]
        #expect((record?["models"] as? [Any])?.count == 3 && (record?["seed_divergence"] as? [Double])?.count == 40)
        #expect(try String(contentsOfFile: "\(out)/attention.html", encoding: .utf8).contains("Is the trained attention needed?"))
        let refused = try glassbox(["attention", "baseline", "--seeds", "3", "--out", out])
        #expect(refused.failedCleanly && refused.error.contains("--seeds"))
        let transformer = try glassbox(["text", "train", "--arch", "transformer", "--uniform-attention", "--limit", "20", "--out", out])
        #expect(transformer.failedCleanly && transformer.error.contains("uniform attention is an option of the BiLSTM"), "\(transformer.error)")
    }

    @Test("text train and evaluate refuse bad settings and foreign files")
    func errors() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [([String], String)] = [
            (["text", "train", "--epochs", "0"], "epochs must be between 1 and 1000"),
            (["text", "train", "--limit", "3"], "at least 10 texts"),
            (["text", "train", "--arch", "rnn"], "rnn"),
            (["text", "train", "--arch", "minilm-probe", "--minilm", folder.path, "--limit", "20", "--out", folder.appendingPathComponent("p").path], "has no config.json"),
            (["text", "evaluate", "--model", try modelFile(in: folder)], "is not a text classifier"),
        ]
        for (arguments, message) in cases {
            let result = try glassbox(arguments)
            #expect(result.failedCleanly && result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}

@Suite("Command line: language model")
struct LanguageModelCommandTests {
    @Test("lm train learns next tokens on a few texts, resumes from its checkpoint, and refuses bad settings")
    func train() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("lm").path
        let first = try glassbox(["lm", "train", "--limit", "200", "--epochs", "2", "--width", "32", "--activation", "solu", "--out", out])
        #expect(first.status == 0 && first.output.contains("perplexity"), "\(first.error)")
        let resumed = try glassbox(["lm", "train", "--limit", "200", "--epochs", "3", "--width", "32", "--activation", "solu", "--resume", "--out", out])
        #expect(resumed.status == 0, "\(resumed.error)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/metrics.json"))) as? [String: Any]
        let epochs = metrics?["epochs"] as? [[String: Any]] ?? []
        #expect(epochs.count == 3)
        // Next-token loss falls from the uniform guess's log(vocabulary).
        let vocabulary = Double(metrics?["vocabulary"] as? Int ?? 1)
        #expect((metrics?["validation_loss"] as? Double ?? 99) < Foundation.log(vocabulary))
        let bad = try glassbox(["lm", "train", "--width", "30"])
        #expect(bad.failedCleanly && bad.error.contains("multiple of 4"))
    }
}
