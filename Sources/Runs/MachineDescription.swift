import ExplanationCore
import Foundation
import NN
import Torch

/// Where a measurement ran: the CPU model and its widest vector instructions. Speed-ups over
/// Captum differ between AVX-512 and AVX2-only CPUs of the same machine kind, so every figure says which.
public struct MachineDescription: Codable, Sendable {
    public var cpu: String
    /// "AVX-512", "AVX2" or "older than AVX2".
    public var vectorExtensions: String
    public var cores: Int
    public var threads: Int
    /// Cores busy with other work over half a second before a measurement (0…cores), when a
    /// benchmark measured it (`measuringBusyCores()`): other work on the cores skews timings.
    public var busyCores: Double?
    /// How ResNets run their convolutions here (`GLASSBOX_CONVOLUTION_PATH`, `ConvolutionCalibration`; plans need oneDNN's headers at build time).
    public var convolutionPath: String
    /// The plans' Winograd kernels (`ConvolutionPlan.winogradDescription`); nil in older results.
    public var winograd: String?
    /// Whether occlusion and patch ablation recompute only what a window reaches
    /// (`GLASSBOX_LOCAL_RECOMPUTATION`); nil in results written before it existed.
    public var localRecomputation: Bool?
    /// OMP_WAIT_POLICY (Glassbox starts with PASSIVE; peers it launches inherit it).
    public var openMPWaitPolicy: String
    /// OpenBLAS's kernels (`Torch.blasCore`; peers it launches inherit the choice).
    public var blasCore: String?

    public static var current: MachineDescription {
        let flags = Set((CPUInfo.field("flags") ?? "").split(separator: " ").map(String.init))
        let isa = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : "older than AVX2"
        return MachineDescription(cpu: CPUInfo.model, vectorExtensions: isa,
                                  cores: ProcessInfo.processInfo.activeProcessorCount, threads: Torch.threads, busyCores: nil,
                                  convolutionPath: convolutionPath, winograd: ConvolutionPlan.winogradDescription,
                                  localRecomputation: LocalRecomputation.isEnabled,
                                  openMPWaitPolicy: Torch.openMPWaitPolicy,
                                  blasCore: Torch.blasCore)
    }

    static var convolutionPath: String {
        let path = ConvolutionPath.chosen
        if [.plan, .automatic].contains(path), !ConvolutionPlan.isAvailable { return "blocked (no oneDNN plans in this build)" }
        return path == .automatic ? "plan where measured faster than libtorch (\(ConvolutionCalibration.shared.file ?? "not kept"))" : path.rawValue
    }

    /// This machine with `busyCores` measured (it takes half a second): for benchmarks.
    public static func measuringBusyCores() -> MachineDescription {
        var machine = current
        machine.busyCores = busyCores()
        return machine
    }

    /// Busy cores from /proc/stat's CPU times over half a second, while this process sleeps.
    static func busyCores() -> Double {
        func times() -> (busy: Double, total: Double)? {
            guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                  let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
            let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard values.count >= 5 else { return nil }
            let idle = values[3] + values[4]
            return (values.reduce(0, +) - idle, values.reduce(0, +))
        }
        guard let before = times() else { return 0 }
        Thread.sleep(forTimeInterval: 0.5)
        guard let after = times(), after.total > before.total else { return 0 }
        return (after.busy - before.busy) / (after.total - before.total) * Double(ProcessInfo.processInfo.activeProcessorCount)
    }

    /// "AMD EPYC (AVX-512), 2 cores, 2 threads (OpenMP waiting PASSIVE), ResNet convolutions: plan, Winograd: oneDNN's, local recomputation: on".
    public var summary: String {
        "\(cpu) (\(vectorExtensions)), \(cores) cores, \(threads) threads (OpenMP waiting \(openMPWaitPolicy)), OpenBLAS kernels: \(blasCore ?? "?"), ResNet convolutions: \(convolutionPath)"
            + (winograd.map { ", Winograd: \($0)" } ?? "") + (localRecomputation.map { ", local recomputation: \($0 ? "on" : "off")" } ?? "")
    }
}
