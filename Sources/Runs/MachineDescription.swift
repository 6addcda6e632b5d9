import Foundation
import Torch

/// Where a measurement ran: the CPU model and its widest vector instructions. Speed-ups over
/// Captum differ between AVX-512 and AVX2-only CPUs of the same machine kind, so every figure says which.
public struct MachineDescription: Codable, Sendable {
    public var cpu: String
    /// "AVX-512", "AVX2" or "older than AVX2".
    public var vectorExtensions: String
    public var cores: Int
    public var threads: Int
    /// The one-minute load average when it was read: other work on the cores skews timings.
    public var loadAverage: Double

    public static var current: MachineDescription {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let lines = info.split(separator: "\n")
        func field(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let isa = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : "older than AVX2"
        return MachineDescription(cpu: field("model name") ?? "unknown CPU", vectorExtensions: isa,
                                  cores: ProcessInfo.processInfo.activeProcessorCount, threads: Torch.threads,
                                  loadAverage: (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap { $0.split(separator: " ").first }.flatMap { Double($0) } ?? 0)
    }

    /// "AMD EPYC (AVX-512), 2 cores, 2 threads".
    public var summary: String { "\(cpu) (\(vectorExtensions)), \(cores) cores, \(threads) threads" }
}
