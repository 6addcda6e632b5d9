import Datasets
import Foundation
import NN
import Torch
import Transparent

/// `glassbox bench transparent`: CART fits on the 4,000 bundled MNIST training digits (784
/// pixels) and k-NN on the 1,000 test digits, timed against scikit-learn on the same data in the
/// same run (bench/sklearn_bench.py).
public struct TransparentBenchmark {
    public var repeats: Int
    public var treeDepths = [3, 10]
    public var k = 5
    /// Python with scikit-learn, and the peer script; nil skips scikit-learn.
    public var peer: (python: String, script: String)?

    public init(repeats: Int, peer: (python: String, script: String)?) {
        self.repeats = repeats
        self.peer = peer
    }

    public struct Row: Sendable {
        public var task: String
        public var glassboxSeconds: Double
        public var sklearnSeconds: Double?
        /// Fraction of the test digits on which both sides predict the same class.
        public var agreement: Double?
    }

    public struct Result: Sendable {
        public var rows: [Row]
        public var peerNote: String
        public var machine: MachineDescription
    }

    public func run() throws -> Result {
        let mnist = try MNIST.bundled()
        let train = try LabelledFeatures(features: mnist.train.images.flattened(from: 1), labels: mnist.train.labels, classes: 10)
        let test = try mnist.test.images.flattened(from: 1)
        // Each task's timed part returns how to get its test predictions (untimed).
        var tasks: [(name: String, timed: () throws -> () throws -> Tensor)] = treeDepths.map { depth in
            ("tree-depth-\(depth)", {
                let tree = try DecisionTree.fit(train, settings: .init(maxDepth: depth))
                return { try tree.predict(test) }
            })
        }
        for metric in NearestNeighbors.Metric.allCases {
            let model = try NearestNeighbors(train, metric: metric)
            tasks.append(("knn-\(metric.rawValue)", {
                let labels = try model.predict(test, k: k)
                return { labels }
            }))
        }
        var rows: [Row] = [], predictions: [String: Tensor] = [:]
        for (index, task) in tasks.enumerated() {
            let (seconds, predict) = try medianTime(repeats: repeats, task.timed)
            predictions[task.name] = try predict()
            rows.append(Row(task: task.name, glassboxSeconds: seconds))
            ProgressObserver.report("transparent bench", done: index + 1, of: tasks.count, unit: "tasks", status: task.name)
        }
        var peerNote = "scikit-learn skipped (--no-peer)."
        if let peer {
            do {
                let settings: [String: Any] = ["repeats": repeats, "tree_depths": treeDepths, "k": k]
                let json = try AttributionBenchmark.runPeer(peer, named: "transparent", settings: settings, prepare: { _ in },
                                                            read: { try AttributionBenchmark.peerResults($0, "sklearn_results.json") })
                let theirs = json?["rows"] as? [String: [String: Any]] ?? [:]
                for index in rows.indices {
                    guard let record = theirs[rows[index].task], let seconds = record["seconds"] as? Double,
                          let labels = record["predictions"] as? [Int] else { continue }
                    rows[index].sklearnSeconds = seconds
                    rows[index].agreement = try predictions[rows[index].task]!.eq(Tensor(labels, shape: [labels.count])).to(.float64).mean().item()
                }
                peerNote = "scikit-learn \(json?["sklearn"] as? String ?? "?") in the same run, on the same digits."
            } catch let error as TorchError {
                peerNote = "scikit-learn did not run: \(error.message)"
            }
        }
        return Result(rows: rows, peerNote: peerNote, machine: MachineDescription.current)
    }
}
