import Foundation
import Torch

/// Whether a network's convolution plan beats libtorch's own operators on this machine, measured
/// once per CPU, library version, input shape and mode, and remembered in a small JSON file.
///
/// Why: the plan's gains come from oneDNN's Winograd kernels, which oneDNN 2.6 has only for
/// AVX-512; on other CPUs the plan runs direct kernels and its advantage is whatever its fusion
/// and layout save there, which was never measured on a real AVX2-only CPU. Measuring at first
/// use keeps the plan where it wins and libtorch where it does not, on any CPU.
/// `GLASSBOX_CONVOLUTION_PATH` (`plan`, `blocked`, `plain`) skips the measurement and forces a path.
public final class ConvolutionCalibration: @unchecked Sendable {
    /// One measurement: the best of a few runs of each path, in seconds.
    public struct Measurement: Codable, Equatable, Sendable {
        public let plan: Double, libtorch: Double
        /// The plan is kept unless libtorch is faster by more than a twentieth (noise).
        public var planWins: Bool { plan <= 1.05 * libtorch }

        public init(plan: Double, libtorch: Double) {
            self.plan = plan
            self.libtorch = libtorch
        }
    }

    /// The file measurements are kept in (nil: this process only).
    public let file: String?
    /// Recursive: a measurement may run code that takes another (a local pass hands over to a plan).
    let lock = NSRecursiveLock()
    var measurements: [String: Measurement]

    public init(file: String?) {
        self.file = file
        measurements = file.flatMap { FileManager.default.contents(atPath: $0) }
            .flatMap { try? JSONDecoder().decode([String: Measurement].self, from: $0) } ?? [:]
    }

    /// `GLASSBOX_CALIBRATION_FILE`, else `$XDG_CACHE_HOME/glassbox/convolution-paths.json`, else
    /// `~/.cache/glassbox/convolution-paths.json`. Delete the file to measure again.
    public static let shared: ConvolutionCalibration = {
        let environment = ProcessInfo.processInfo.environment
        if let file = environment["GLASSBOX_CALIBRATION_FILE"] { return ConvolutionCalibration(file: file) }
        let cache = environment["XDG_CACHE_HOME"] ?? environment["HOME"].map { "\($0)/.cache" }
        return ConvolutionCalibration(file: cache.map { "\($0)/glassbox/convolution-paths.json" })
    }()

    /// What makes a measurement from one machine and build stand for another run: the CPU model,
    /// oneDNN's instruction-set cap, the plan's Winograd kernels and libtorch's version.
    public static let machineKey: String = {
        let cap = ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"].map { ", oneDNN capped at \($0)" } ?? ""
        return "\(CPUInfo.model)\(cap), Winograd \(ConvolutionPlan.winogradDescription), libtorch \(Torch.version)"
    }()

    /// The measurement for `key` on this machine, taking it with `measure` the first time.
    public func measurement(for key: String, measure: () throws -> Measurement) throws -> Measurement {
        let fullKey = "\(Self.machineKey) | \(key)"
        lock.lock()
        defer { lock.unlock() }
        if let known = measurements[fullKey] { return known }
        ProgressObserver.note("measuring which convolution path is faster for \(key) (once per machine\(file.map { "; kept in \($0)" } ?? ""))")
        let taken = try measure()
        measurements[fullKey] = taken
        if let file {
            // A cache: failing to write it costs a measurement next time, nothing else.
            try? FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode(measurements) { try? AtomicFile.write(data, to: file) }
        }
        return taken
    }

    /// A shape for a measurement's key, its batch size as a range between powers of two
    /// ("129–256×3×224×224"): one measurement stands for the batch sizes near it, so a method whose
    /// batches vary (KernelSHAP's distinct coalitions, a last partial chunk) is not measured anew
    /// for each.
    public static func shapeText(_ shape: [Int]) -> String {
        guard let batch = shape.first else { return "" }
        var upper = 1
        while upper < batch { upper *= 2 }
        let range = upper <= 2 ? "\(upper)" : "\(upper / 2 + 1)–\(upper)"
        return ([range] + shape.dropFirst().map(String.init)).joined(separator: "×")
    }

    /// The best of `runs` timed runs of each body after one untimed run of each, alternating so
    /// that a change in the machine's load falls on both.
    public static func compare(runs: Int = 2, plan: () throws -> Void, libtorch: () throws -> Void) throws -> Measurement {
        try plan()
        try libtorch()
        var best = (plan: Double.infinity, libtorch: Double.infinity)
        func timed(_ body: () throws -> Void) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        for _ in 0..<runs {
            best.plan = min(best.plan, try timed(plan))
            best.libtorch = min(best.libtorch, try timed(libtorch))
        }
        return Measurement(plan: best.plan, libtorch: best.libtorch)
    }
}
