import Foundation

/// Checks that every reader and command applies before it allocates or loops: sizes computed with
/// overflow checks, files that are regular files, and the bounds on user-given counts. A file from
/// anywhere, or a flag of any value, gets an error naming the problem, never a crash.
public enum Limits {
    /// The most bytes one tensor read from a file or built from a user's numbers may take (16 GiB;
    /// machines of this kind have 24 GiB).
    public static let maximumTensorBytes = 16 << 30

    /// The number of elements of `shape`; an error for a negative size or a product past `Int.max`.
    public static func elementCount(_ shape: [Int], of what: String) throws -> Int {
        var count = 1
        for size in shape {
            guard size >= 0 else { throw TorchError("\(what) has a negative size in its shape \(shape)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw TorchError("\(what) declares shape \(shape), whose element count overflows a 64-bit integer") }
            count = product
        }
        return count
    }

    /// The bytes of a tensor of `shape` whose elements take `elementSize` bytes, refused past `maximumTensorBytes`.
    public static func byteCount(_ shape: [Int], elementSize: Int, of what: String) throws -> Int {
        let (bytes, overflow) = try elementCount(shape, of: what).multipliedReportingOverflow(by: elementSize)
        guard !overflow, bytes <= maximumTensorBytes else {
            throw TorchError("\(what) declares shape \(shape), which needs more than \(maximumTensorBytes >> 30) GiB")
        }
        return bytes
    }

    /// The most bytes the masks of a perturbation method may take at once (2 GiB).
    public static let maximumMaskBytes = 2 << 30

    /// Refuses `count` float masks over `features` features when they would take more than `maximumMaskBytes`.
    public static func checkMasks(_ count: Int, features: Int, method: String, advice: String) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: features * 4)
        guard !overflow, bytes <= maximumMaskBytes else {
            let size = overflow ? "more than 8 EiB" : String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
            throw TorchError("\(method) would build \(count) masks over \(features) features (\(size), more than \(maximumMaskBytes >> 30) GiB); \(advice)")
        }
    }

    /// The size in bytes of the regular file at `path`; an error for a missing file, a folder, a pipe or a device.
    @discardableResult
    public static func regularFile(_ path: String, what: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TorchError(errno == ENOENT ? "\(what) not found: \(path)" : "cannot read \(what) \(path): \(String(cString: strerror(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return Int(info.st_size)
        case S_IFDIR: throw TorchError("\(path) is a folder; give the \(what) itself")
        case S_IFIFO: throw TorchError("\(path) is a pipe, not a \(what); give a regular file")
        default: throw TorchError("\(path) is a device or special file, not a \(what); give a regular file")
        }
    }

    /// Checks a user-given count against its documented bounds, naming the flag in the error.
    public static func check(_ value: Int, _ flag: String, in range: ClosedRange<Int>, why: String = "") throws {
        guard range.contains(value) else {
            throw TorchError("\(flag) must be between \(range.lowerBound) and \(range.upperBound)\(why.isEmpty ? "" : " (\(why))"), got \(value)")
        }
    }
}
