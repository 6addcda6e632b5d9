import Foundation

/// This machine's CPU as /proc/cpuinfo describes its first processor.
public enum CPUInfo {
    /// A field of the first processor's entry ("model name", "flags"), nil when absent.
    public static func field(_ name: String) -> String? {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").first { $0.hasPrefix(name) }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    public static var model: String { field("model name") ?? "unknown CPU" }
}
