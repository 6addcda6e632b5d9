import Foundation
import NN
import Report
import Torch

/// One claim of a paper, its published figure next to ours, and whether ours agrees.
public struct ReproducedClaim: Codable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        case met
        case notMet = "not met"
        /// Agrees in part, or on another setting than the paper's: `why` says how.
        case differs
    }

    public var claim: String
    public var published: String
    public var ours: String
    public var verdict: Verdict
    public var why: String
}

/// What `glassbox reproduce NAME` writes: result.json and index.html in its folder.
public struct ReproductionReport: Codable, Sendable {
    public var name: String
    public var title: String
    public var paper: String
    /// A smaller run than the paper's (`--quick`): its verdicts check that the pipeline works, not the claims.
    public var quick: Bool
    public var seconds: Double
    public var claims: [ReproducedClaim]
    /// The detailed page of the run, relative to the report's folder.
    public var detailPage: String?

    /// One line per claim, as the command prints them.
    public var lines: [String] {
        claims.map { "\($0.verdict.rawValue.uppercased()): \($0.claim) — published: \($0.published); ours: \($0.ours)\($0.why.isEmpty ? "" : " (\($0.why))")" }
    }

    /// Markdown table rows for the README: one per claim, the reproduction named on its first row.
    public var markdownRows: [String] {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        return claims.enumerated().map { index, claim in
            let name = index == 0 ? "`\(self.name)` (\(cell(paper)))\(quick ? ", quick run" : ""), \(String(format: "%.0f", seconds)) s" : ""
            return "| \(name) | \(cell(claim.claim)) | \(cell(claim.published)) | \(cell(claim.ours)) | \(claim.verdict.rawValue) |"
        }
    }

    /// The README's table of reproductions, from the result.json files under `root` (one folder per reproduction).
    public static func markdownTable(root: String) throws -> String {
        var lines = ["| reproduction | claim | published | ours | verdict |", "|---|---|---|---|---|"]
        for entry in ReproductionCatalog.all {
            let path = ((root as NSString).appendingPathComponent(entry.name) as NSString).appendingPathComponent("result.json")
            guard FileManager.default.fileExists(atPath: path) else { continue }
            lines += try JSONFile.read(ReproductionReport.self, from: path).markdownRows
        }
        guard lines.count > 2 else { throw TorchError("no result.json under \(root); run `glassbox reproduce NAME` first") }
        return lines.joined(separator: "\n")
    }

    public func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try JSONFile.write(self, to: (folder as NSString).appendingPathComponent("result.json"))
        var page = HTMLPage(title: "Reproduction: \(title)")
        page.paragraph("\(paper). \(quick ? "A quick run (--quick): smaller than the paper's setting, so the verdicts check the pipeline, not the claims. " : "")Time: \(String(format: "%.0f", seconds)) s on \(MachineDescription.current.summary).")
        var rows = ["<table><tr><th>claim</th><th>published</th><th>ours</th><th>verdict</th></tr>"]
        for claim in claims {
            rows.append("<tr><td>\(claim.claim)</td><td>\(claim.published)</td><td>\(claim.ours)</td><td><b>\(claim.verdict.rawValue)</b>\(claim.why.isEmpty ? "" : "<br>\(claim.why)")</td></tr>")
        }
        rows.append("</table>")
        page.html(rows.joined())
        if let detailPage { page.html("<p><a href=\"\(detailPage)\">The full run: every chart, table and example</a></p>") }
        try page.write(to: (folder as NSString).appendingPathComponent("index.html"))
    }
}

/// What a reproduction is given.
public struct ReproductionSettings: Sendable {
    public var out: String
    public var seed: UInt64
    public var quick: Bool
    public var mnist: MNISTSource
    /// A trained demo CNN to reuse (`runs/demo/model.safetensors`); trained afresh when nil.
    public var cnn: String?

    public init(out: String, seed: UInt64 = 0, quick: Bool = false, mnist: MNISTSource = .bundled, cnn: String? = nil) {
        (self.out, self.seed, self.quick, self.mnist, self.cnn) = (out, seed, quick, mnist, cnn)
    }
}

/// A paper's headline result, regenerated on our data.
public struct Reproduction: Sendable {
    public let name: String
    public let title: String
    public let paper: String
    /// What the full run and the quick run cost on 2 cores, said before they start.
    public let cost: String
    public let quickCost: String
    let body: @Sendable (ReproductionSettings) throws -> ReproductionReport

    /// Runs it and writes its report to `settings.out`.
    public func run(_ settings: ReproductionSettings) throws -> ReproductionReport {
        let started = Date()
        var report = try body(settings)
        report.seconds = Date().timeIntervalSince(started)
        try report.write(to: settings.out)
        return report
    }
}

/// The reproductions `glassbox reproduce` offers.
public enum ReproductionCatalog {
    public static let all: [Reproduction] = [SENNReproduction.entry, SanityCheckReproduction.entry, TransparentReproduction.entry]

    public static func entry(named name: String) throws -> Reproduction {
        guard let entry = all.first(where: { $0.name == name }) else {
            throw TorchError("unknown reproduction '\(name)'; `glassbox reproduce --list` names them: \(all.map(\.name).joined(separator: ", "))")
        }
        return entry
    }

    /// The demo CNN from `settings.cnn`, or trained (15 epochs; 1 with --quick) into `out/cnn`.
    static func cnn(_ settings: ReproductionSettings) throws -> (model: Sequential, accuracy: Double) {
        if let path = settings.cnn {
            let loaded = try ModelFile.load(path)
            guard let model = loaded.model.module as? Sequential, loaded.inputShape == [1, 28, 28] else {
                throw TorchError("\(path) is not the demo's MNIST CNN; give a model written by `glassbox demo` or `glassbox train`")
            }
            return (model, try ClassifierEvaluation({ try model($0) }, on: settings.mnist.loadTest().test).accuracy)
        }
        var options = CNNTrainingOptions()
        if settings.quick { options.epochs = 1 }
        let (model, metrics, _) = try ProgressObserver.quietly {
            try MNISTRun.train(source: settings.mnist, options: options, seed: settings.seed,
                               out: (settings.out as NSString).appendingPathComponent("cnn"), resume: false)
        }
        return (model, metrics.testAccuracy)
    }
}
