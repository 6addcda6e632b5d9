import Foundation
import Testing
import TestSupport
import ExplanationCore
import Attribution
import Evaluation
import NN
import Torch

/// A long-running process (a server, a dataset-wide job) must not grow: attribution and scoring
/// calls free what they allocate.
///
/// Resident memory belongs to the whole process, and other suites run at the same time in the test
/// process, so the workload runs alone in a child process of this test binary, which reports the
/// growth through a file.
@Suite("Memory over many calls")
struct MemoryTests {
    static let reportVariable = "GLASSBOX_MEMORY_REPORT"

    @Test("10,000 attribution and scoring calls keep resident memory flat")
    func attributionMemoryIsFlat() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("grown").path
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "MemoryTests/workload"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.reportVariable: report]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        child.waitUntilExit()
        #expect(child.terminationStatus == 0, "the workload process failed")
        let grown = try #require(Int(String(contentsOfFile: report, encoding: .utf8)), "the workload process wrote no report")
        // Leaking one small tensor per call (its 512 bytes plus about 1 KiB of libtorch bookkeeping) would
        // add over 10 MiB; measured alone: 72 KiB of allocator noise.
        #expect(grown < 4 << 20, "resident memory grew by \(grown >> 10) KiB over 10,000 calls")
    }

    /// Resident memory in bytes (/proc/self/statm).
    static func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The measurement itself, run only in the child process.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[reportVariable] != nil))
    func workload() throws {
        let g = Generator(seed: 70)
        let model = Sequential([try Linear(16, 32, generator: g), ReLU(), try Linear(32, 4, generator: g)])
        model.eval()
        let x = try Tensor.randn([8, 16], generator: g)
        var ig = IntegratedGradients(model)
        ig.steps = 8
        let methods: [AttributionMethod] = [Saliency(model), ig, GuidedBackprop(model), Occlusion(model, window: [4], strides: [4])]
        let metrics: [ExplanationMetric] = [Sparseness(), FaithfulnessCorrelation(runs: 4, subsetSize: 4, seed: 1), Sensitivity(.max, samples: 2, seed: 1)]
        func run(_ calls: Int) throws {
            for call in 0..<calls {
                let method = methods[call % methods.count]
                let values = try method.attribute(x, target: .predicted).values
                _ = try metrics[call % metrics.count].score(method, inputs: x, target: .predicted, attributions: values).sum().item()
            }
        }
        try run(1_000)  // warm-up: the allocator's pools and libtorch's caches fill here
        let before = try Self.residentBytes()
        try run(10_000)
        let grown = try Self.residentBytes() - before
        try String(grown).write(toFile: ProcessInfo.processInfo.environment[Self.reportVariable]!, atomically: true, encoding: .utf8)
    }
}
