import CTorch

/// An n-dimensional array backed by libtorch, with autograd.
///
/// A `Tensor` owns exactly one libtorch handle and frees it when the last
/// Swift reference goes away. Operations return new tensors; storage is shared
/// only where libtorch shares it (views such as `reshape` or `slice`).
public final class Tensor: @unchecked Sendable {
    let handle: gbt_tensor

    init(handle: gbt_tensor) {
        _ = engineDefaults
        self.handle = handle
    }

    deinit {
        gbt_tensor_free(handle)
    }

    /// The sizes of each dimension.
    public var shape: [Int] {
        var rank: Int64 = 0
        guard gbt_tensor_dim(handle, &rank) == 0 else { return [] }
        var sizes = [Int64](repeating: 0, count: Int(rank))
        _ = gbt_tensor_shape(handle, &sizes, rank)
        return sizes.map(Int.init)
    }

    public var rank: Int { shape.count }

    /// The number of elements.
    public var count: Int {
        var n: Int64 = 0
        _ = gbt_tensor_numel(handle, &n)
        return Int(n)
    }

    public var dtype: DType {
        var code: Int32 = 0
        _ = gbt_tensor_dtype(handle, &code)
        return DType(rawValue: code) ?? .float32
    }

    public var device: Device {
        var type: Int32 = 0
        var index: Int32 = 0
        _ = gbt_tensor_device(handle, &type, &index)
        return type == 1 ? .cuda(Int(index)) : .cpu
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        var text: UnsafeMutablePointer<CChar>?
        guard gbt_tensor_description(handle, &text) == 0, let text else { return "Tensor(\(shape), \(dtype))" }
        defer { gbt_string_free(text) }
        return String(cString: text)
    }
}

/// Element types. Raw values match the C shim's codes.
public enum DType: Int32, Sendable, CaseIterable {
    case float32 = 0, float64, int64, bool, int32, uint8, float16, bfloat16, int8, int16

    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .bool, .uint8, .int8: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: true
        default: false
        }
    }
}

public enum Device: Equatable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    var codes: (type: Int32, index: Int32) {
        switch self {
        case .cpu: (0, 0)
        case .cuda(let index): (1, Int32(index))
        }
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let index): "cuda:\(index)"
        }
    }
}

/// An error reported by libtorch or by Glassbox's checks on tensors.
public struct TorchError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Throws the shim's last error when a call failed.
@inline(__always)
func check(_ status: Int32, _ context: @autoclosure () -> String = "") throws {
    if status != 0 {
        let detail = String(cString: gbt_last_error())
        let prefix = context()
        throw TorchError(prefix.isEmpty ? detail : "\(prefix): \(detail)")
    }
}

/// Runs a shim call that produces one tensor.
@inline(__always)
func makeTensor(_ context: @autoclosure () -> String = "", _ call: (inout gbt_tensor?) -> Int32) throws -> Tensor {
    var out: gbt_tensor?
    try check(call(&out), context())
    guard let out else { throw TorchError("\(context()): libtorch returned no tensor") }
    return Tensor(handle: out)
}

/// Calls `body` with a C array of Int64 made from `values`.
@inline(__always)
func withInt64s<R>(_ values: [Int], _ body: (UnsafePointer<Int64>, Int64) throws -> R) rethrows -> R {
    let converted = values.map(Int64.init)
    return try converted.withUnsafeBufferPointer { buffer in
        // A zero-length array still needs a valid pointer.
        var dummy: Int64 = 0
        return try withUnsafePointer(to: &dummy) { fallback in
            try body(buffer.baseAddress ?? fallback, Int64(values.count))
        }
    }
}

/// Calls `body` with the tensors' handles as a C array.
@inline(__always)
func withHandles<R>(_ tensors: [Tensor?], _ body: (UnsafePointer<gbt_tensor?>) throws -> R) rethrows -> R {
    // A zero-length array still needs a valid pointer.
    let handles: [gbt_tensor?] = tensors.isEmpty ? [nil] : tensors.map { $0?.handle }
    return try withExtendedLifetime(tensors) {
        try handles.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }
}

func shapeText(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
