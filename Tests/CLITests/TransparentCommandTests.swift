import Datasets
import Foundation
import Testing
import TestSupport
import Torch

/// The transparent commands end to end on 300 digits (and the bundled table), reading back what they wrote.
@Suite("Command line: transparent models")
struct TransparentCommandTests {
    static func json(_ url: URL) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: url)) }

    @Test("transparent tree writes diagrams, rules and records for every depth and feature space")
    func trees() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try tinyMNIST(in: folder, count: 300)
        for features in ["pixels", "handcrafted", "pca"] {
            let out = folder.appendingPathComponent(features)
            let result = try glassbox(["transparent", "tree", "--data", folder.path, "--features", features, "--depths", "2,none", "--out", out.path])
            #expect(result.status == 0, "\(result.error)")
            let rows = try Self.json(out.appendingPathComponent("trees.json")) as? [[String: Any]] ?? []
            #expect(rows.count == 2 && rows[1]["train_accuracy"] as? Double == 1 || features == "handcrafted", "\(features): an unbounded tree fits its training set")
            for depth in ["2", "unbounded"] {
                let svg = try String(contentsOf: out.appendingPathComponent("tree-depth-\(depth).svg"), encoding: .utf8)
                #expect(svg.hasPrefix("<svg") && svg.contains("samples"))
                let rules = try String(contentsOf: out.appendingPathComponent("tree-depth-\(depth).txt"), encoding: .utf8)
                #expect(rules.contains("predict"))
            }
        }
        let hand = try String(contentsOf: folder.appendingPathComponent("handcrafted/tree-depth-2.txt"), encoding: .utf8)
        #expect(["brightness", "outline brightness", "corners", "width", "height"].contains { hand.contains($0) })
    }

    @Test("transparent linear, knn and compare run with a network, and explain-by-example reads a user's inputs")
    func linearNeighborsCompare() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try tinyMNIST(in: folder, count: 300)
        let model = try modelFile(in: folder)
        let linear = try glassbox(["transparent", "linear", "--data", folder.path, "--model", model, "--out", folder.appendingPathComponent("linear").path])
        #expect(linear.status == 0, "\(linear.error)")
        #expect(linear.output.contains("perceptron 0 vs 1: zero training errors") && linear.output.contains("hard-margin SVM"))
        #expect(linear.output.contains("perceptron 4 vs 9: still"), "hand-made features cannot separate 4 from 9")
        for file in ["linear.html", "weights.png", "global-vs-local.png", "support-vectors.png", "linear-model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("linear/\(file)").path), "\(file)")
        }
        let knn = try glassbox(["transparent", "knn", "--data", folder.path, "--model", model, "--k", "3", "--out", folder.appendingPathComponent("knn").path])
        #expect(knn.status == 0, "\(knn.error)")
        let record = try Self.json(folder.appendingPathComponent("knn/knn.json")) as? [String: Any]
        #expect((record?["input_space_accuracy"] as? [Double])?.count == 3 && record?["layer"] as? String == "9")
        #expect(record?["network_agrees_with_layer_neighbors"] is Double)

        let compare = try glassbox(["transparent", "compare", "--data", folder.path, "--model", model, "--distillation-depths", "1,3",
                                    "--out", folder.appendingPathComponent("compare").path])
        #expect(compare.status == 0, "\(compare.error)")
        let table = try Self.json(folder.appendingPathComponent("compare/compare.json")) as? [String: Any]
        #expect((table?["rows"] as? [Any])?.count == 10 && (table?["distillation"] as? [Any])?.count == 2)

        let inputs = folder.appendingPathComponent("two.safetensors").path
        let (_, test) = try MNIST.bundled()
        try Safetensors.write(["x": test.images.slice(dim: 0, start: 0, end: 2)], to: inputs)
        let explained = try glassbox(["explain-by-example", "--data", folder.path, "--model", model, "--input", inputs, "--k", "4",
                                      "--out", folder.appendingPathComponent("examples").path])
        #expect(explained.status == 0, "\(explained.error)")
        let neighbors = try Self.json(folder.appendingPathComponent("examples/neighbors.json")) as? [[String: Any]] ?? []
        #expect(neighbors.count == 2 && (neighbors[0]["layer_neighbors"] as? [Int])?.count == 4)
    }

    @Test("tables: the bundled breast-cancer set and a user's CSV, with clear errors for bad files")
    func tables() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let linear = try glassbox(["transparent", "linear", "--dataset", "breast-cancer", "--out", folder.appendingPathComponent("bc").path])
        #expect(linear.status == 0 && linear.output.contains("logistic regression: train"), "\(linear.error)")
        let csv = folder.appendingPathComponent("table.csv")
        var text = "width,\"height, cm\",kind\n"
        for i in 0..<40 { text += "\(i % 7),\(Double(i) / 3),\(i < 20 ? "small" : "large")\n" }
        try text.write(to: csv, atomically: true, encoding: .utf8)
        let tree = try glassbox(["transparent", "tree", "--dataset", "csv", "--csv", csv.path, "--label-column", "kind", "--depths", "1",
                                 "--out", folder.appendingPathComponent("csv").path])
        #expect(tree.status == 0, "\(tree.error)")
        let rules = try String(contentsOf: folder.appendingPathComponent("csv/tree-depth-1.txt"), encoding: .utf8)
        #expect(rules.contains("height, cm <=") && rules.contains("predict large") && rules.contains("predict small"))

        let cases: [(String, String)] = [
            ("a,b,label\n1,2,x\n3,,y\n", "line 3, column 'b' is empty"),
            ("a,b,label\n1,2,x\n3,nan,y\n", "line 3, column 'b' is not a finite number"),
            ("a,b,label\n1,2,x\n3,4\n", "line 3 has 2 fields, the header has 3"),
            ("a,b,label\n1,2,x\n3,4,x\n", "a single class"),
            ("a,b,kind\n1,2,x\n", "no column 'label'"),
            ("", "is empty"),
        ]
        for (body, message) in cases {
            try body.write(to: csv, atomically: true, encoding: .utf8)
            let result = try glassbox(["transparent", "knn", "--dataset", "csv", "--csv", csv.path, "--out", folder.appendingPathComponent("bad").path])
            #expect(result.failedCleanly && result.error.contains(message), "\(message): \(result.error)")
        }
        let usage: [([String], String)] = [
            (["transparent", "tree", "--dataset", "csv"], "--dataset csv needs --csv FILE"),
            (["transparent", "tree", "--depths", "3,deep"], "--depths takes non-negative integers or 'none'"),
            (["transparent", "tree", "--min-samples-leaf", "0"], "a leaf needs at least 1 sample"),
            (["transparent", "tree", "--features", "concepts"], "--features concepts needs --senn MODEL"),
            (["transparent", "tree", "--dataset", "breast-cancer", "--features", "handcrafted"], "hand-made features are defined for MNIST digits"),
            (["transparent", "linear", "--C", "0"], "--C must be positive"),
            (["transparent", "knn", "--k", "0"], "--k must be at least 1"),
            (["explain-by-example", "--model", "missing.safetensors", "--input", "x.npy"], "not found"),
        ]
        for (arguments, message) in usage {
            let result = try glassbox(arguments + ["--out", folder.appendingPathComponent("usage").path])
            #expect(result.failedCleanly && result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
