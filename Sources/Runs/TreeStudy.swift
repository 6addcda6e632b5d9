import Foundation
import NN
import Report
import Torch
import Transparent

/// `glassbox transparent tree`: CART trees of several depths on one feature space, with their
/// accuracy, size and diagrams (Lipton 2018: a small tree is simulatable; a deep one is not).
public enum TreeStudy {
    public struct Row: Codable, Sendable {
        /// "3", "10" or "unbounded".
        public var maxDepth: String
        public var depth: Int
        public var nodes: Int
        public var leaves: Int
        public var trainAccuracy: Double
        public var testAccuracy: Double
        public var seconds: Double
    }

    public static func depthName(_ depth: Int?) -> String { depth.map(String.init) ?? "unbounded" }

    public static func run(data: TransparentData, depths: [Int?], settings: DecisionTree.Settings, out: String) throws -> [Row] {
        try OutputFolder.prepare(out)
        var rows: [Row] = []
        var page = HTMLPage(title: "Transparent baseline: decision trees")
        page.keyValues([("data", data.description),
                        ("criterion", "\(settings.criterion.rawValue), min samples per split \(settings.minSamplesSplit), per leaf \(settings.minSamplesLeaf)")])
        var diagrams: [(String, String)] = []
        for (index, maxDepth) in depths.enumerated() {
            var treeSettings = settings
            treeSettings.maxDepth = maxDepth
            let started = Date()
            let tree = try DecisionTree.fit(data.train, settings: treeSettings)
            let seconds = Date().timeIntervalSince(started)
            let name = depthName(maxDepth)
            rows.append(Row(maxDepth: name, depth: tree.depth, nodes: tree.nodes.count, leaves: tree.leafCount,
                            trainAccuracy: try accuracy(of: tree.predict(data.train.features), against: data.train.labels),
                            testAccuracy: try accuracy(of: tree.predict(data.test.features), against: data.test.labels), seconds: seconds))
            try AtomicFile.write(tree.rules(featureNames: data.featureNames, classNames: data.classNames), to: path(out, "tree-depth-\(name).txt"))
            try JSONFile.write(tree, to: path(out, "tree-depth-\(name).json"))
            let svg = TreeDiagram(tree, featureNames: data.featureNames, classNames: data.classNames).svg()
            try AtomicFile.write(svg, to: path(out, "tree-depth-\(name).svg"))
            diagrams.append((name, svg))
            ProgressObserver.report("trees", done: index + 1, of: depths.count, unit: "trees", status: "depth \(name)")
        }
        page.heading("Accuracy and size")
        page.html(table(rows))
        page.paragraph("Rules as text: " + rows.map { "<a href=\"tree-depth-\($0.maxDepth).txt\">depth \($0.maxDepth)</a>" }.joined(separator: ", ") + ". Each tree is also saved as JSON.")
        for (name, svg) in diagrams {
            page.heading("Tree, maximum depth \(name)")
            page.paragraph("Splits show the feature and threshold (samples with a value at or below it go left); leaves show the class histogram, the predicted class and the sample count. Below depth 4 subtrees are folded (dashed).")
            page.html("<div style=\"overflow-x: auto\">\(svg)</div>")
        }
        try JSONFile.write(rows, to: path(out, "trees.json"))
        try page.write(to: path(out, "tree.html"))
        return rows
    }

    static func table(_ rows: [Row]) -> String {
        var html = ["<table><tr><th>max depth</th><th>depth</th><th>nodes</th><th>leaves</th><th>train accuracy</th><th>test accuracy</th><th>fit time</th></tr>"]
        for row in rows {
            html.append(String(format: "<tr><td>%@</td><td>%d</td><td>%d</td><td>%d</td><td>%.1f%%</td><td>%.1f%%</td><td>%.2f s</td></tr>",
                               row.maxDepth, row.depth, row.nodes, row.leaves, 100 * row.trainAccuracy, 100 * row.testAccuracy, row.seconds))
        }
        return html.joined() + "</table>"
    }
}
