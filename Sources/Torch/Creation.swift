import CTorch
import Foundation

/// Swift element types that map onto a tensor dtype.
public protocol TensorElement {
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }

extension Tensor {
    /// A tensor holding a copy of `values`, laid out row-major in `shape`.
    public convenience init<Element: TensorElement>(_ values: [Element], shape: [Int]) throws {
        let expected = try Limits.elementCount(shape, of: "a tensor")
        guard expected == values.count else {
            throw TorchError("cannot make a tensor of shape \(shapeText(shape)) (\(expected) elements) from \(values.count) values")
        }
        var out: gbt_tensor?
        try values.withUnsafeBytes { bytes in
            try withInt64s(shape) { dims, rank in
                // An empty tensor copies nothing, so a nil base address is fine.
                try check(gbt_from_data(bytes.baseAddress, dims, rank, Element.dtype.rawValue, &out))
            }
        }
        self.init(handle: out!)
    }

    /// A one-dimensional tensor holding a copy of `values`.
    public convenience init<Element: TensorElement>(_ values: [Element]) throws {
        try self.init(values, shape: [values.count])
    }

    /// A tensor from `Int` values, stored as int64.
    public convenience init(_ values: [Int], shape: [Int]) throws {
        try self.init(values.map(Int64.init), shape: shape)
    }

    /// A tensor from raw bytes in `dtype`'s little-endian layout.
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws {
        let expected = try Limits.byteCount(shape, elementSize: dtype.byteSize, of: "a tensor")
        guard expected == bytes.count else {
            throw TorchError("\(bytes.count) bytes do not fill a \(dtype) tensor of shape \(shapeText(shape)) (\(expected) bytes)")
        }
        var out: gbt_tensor?
        try withInt64s(shape) { dims, rank in
            try check(gbt_from_data(bytes.baseAddress, dims, rank, dtype.rawValue, &out))
        }
        self.init(handle: out!)
    }

    /// A 0-dimensional tensor.
    public convenience init(scalar: Double, dtype: DType = .float32) throws {
        var out: gbt_tensor?
        try check(gbt_full(nil, 0, scalar, dtype.rawValue, 0, &out))
        self.init(handle: out!)
    }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try withInt64s(shape) { dims, rank in
            try makeTensor("full \(shapeText(shape))") { gbt_full(dims, rank, value, dtype.rawValue, device.codes.type, &$0) }
        }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, value: 0, dtype: dtype, device: device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, value: 1, dtype: dtype, device: device)
    }

    /// Values from `start` up to but excluding `end`, `step` apart.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64) throws -> Tensor {
        try makeTensor("arange") { gbt_arange(start, end, step, dtype.rawValue, &$0) }
    }

    /// `steps` values evenly spaced from `start` to `end` inclusive.
    public static func linspace(_ start: Double, _ end: Double, steps: Int, dtype: DType = .float32) throws -> Tensor {
        try makeTensor("linspace") { gbt_linspace(start, end, Int64(steps), dtype.rawValue, &$0) }
    }

    /// The n×n identity matrix.
    public static func eye(_ n: Int, dtype: DType = .float32) throws -> Tensor {
        let index = try arange(0, Double(n))
        return try index.unsqueezed(dim: 1).eq(index.unsqueezed(dim: 0)).to(dtype)
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, generator: Generator? = nil) throws -> Tensor {
        try random(kind: 0, shape, dtype: dtype, generator: generator)
    }

    /// Standard normal samples.
    public static func randn(_ shape: [Int], dtype: DType = .float32, generator: Generator? = nil) throws -> Tensor {
        try random(kind: 1, shape, dtype: dtype, generator: generator)
    }

    private static func random(kind: Int32, _ shape: [Int], dtype: DType, generator: Generator?) throws -> Tensor {
        try withExtendedLifetime(generator) {
            try withInt64s(shape) { dims, rank in
                try makeTensor("random \(shapeText(shape))") { gbt_random(kind, dims, rank, dtype.rawValue, generator?.handle, &$0) }
            }
        }
    }

    /// Integers uniformly drawn from `low` up to but excluding `high`.
    public static func randint(_ low: Int, _ high: Int, shape: [Int], generator: Generator? = nil) throws -> Tensor {
        try withExtendedLifetime(generator) {
            try withInt64s(shape) { dims, rank in
                try makeTensor("randint") { gbt_randint(Int64(low), Int64(high), dims, rank, generator?.handle, &$0) }
            }
        }
    }

    /// A random permutation of 0..<n.
    public static func randperm(_ n: Int, generator: Generator? = nil) throws -> Tensor {
        try withExtendedLifetime(generator) {
            try makeTensor("randperm") { gbt_randperm(Int64(n), generator?.handle, &$0) }
        }
    }

    /// Samples 0 or 1 with the probabilities in this tensor.
    public func bernoulli(generator: Generator? = nil) throws -> Tensor {
        try withExtendedLifetime(generator) {
            try makeTensor("bernoulli") { gbt_bernoulli(handle, generator?.handle, &$0) }
        }
    }

    public func to(_ dtype: DType) throws -> Tensor {
        try makeTensor("convert \(self.dtype) to \(dtype)") { gbt_to_dtype(handle, dtype.rawValue, &$0) }
    }

    public func to(_ device: Device) throws -> Tensor {
        try makeTensor("move to \(device)") { gbt_to_device(handle, device.codes.type, device.codes.index, &$0) }
    }

    /// A copy of the elements in row-major order. The dtype must match `Element`.
    public func scalars<Element: TensorElement>(as type: Element.Type = Element.self) throws -> [Element] {
        guard dtype == Element.dtype else {
            throw TorchError("tensor holds \(dtype), not \(Element.dtype); convert it with to(.\(Element.dtype)) first")
        }
        let n = count
        return try [Element](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 {
                try check(gbt_copy_data(handle, buffer.baseAddress!, n * Element.dtype.byteSize))
            }
            initialized = n
        }
    }

    /// The raw bytes of the elements in row-major order, little-endian.
    public func bytes() throws -> [UInt8] {
        let n = count * dtype.byteSize
        return try [UInt8](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 { try check(gbt_copy_data(handle, buffer.baseAddress!, n)) }
            initialized = n
        }
    }

    /// Floating-point elements as `Float`, converting if needed.
    public func floats() throws -> [Float] {
        try (dtype == .float32 ? self : to(.float32)).scalars(as: Float.self)
    }

    /// The value of a one-element tensor.
    public func item() throws -> Double {
        var value = 0.0
        try check(gbt_item_double(handle, &value), "item of a tensor of shape \(shapeText(shape))")
        return value
    }

    public func itemInt() throws -> Int {
        var value: Int64 = 0
        try check(gbt_item_int64(handle, &value), "item of a tensor of shape \(shapeText(shape))")
        return Int(value)
    }
}

/// A seeded random-number generator for reproducible sampling.
public final class Generator: @unchecked Sendable {
    let handle: gbt_generator

    public init(seed: UInt64) {
        var out: gbt_generator?
        // Creating a CPU generator cannot fail on valid input.
        precondition(gbt_generator_new(seed, &out) == 0, String(cString: gbt_last_error()))
        handle = out!
    }

    deinit {
        gbt_generator_free(handle)
    }

    /// The generator's state, for checkpoints.
    public func state() throws -> Tensor {
        try makeTensor("generator state") { gbt_generator_get_state(handle, &$0) }
    }

    public func setState(_ state: Tensor) throws {
        try check(gbt_generator_set_state(handle, state.handle), "restore generator state")
    }
}

/// Runs once, when the first tensor is made: Debian's libtorch starts with a
/// single intra-op thread, so use every core unless `Torch.setThreads` says otherwise;
/// and keep freed memory in the process (large tensors would otherwise be
/// mapped and unmapped batch after batch, costing more in page faults than the
/// arithmetic). GLASSBOX_RELEASE_MEMORY=1 keeps glibc's defaults.
let engineDefaults: Void = {
    _ = gbt_set_num_threads(Int32(max(ProcessInfo.processInfo.activeProcessorCount, 1)))
    if ProcessInfo.processInfo.environment["GLASSBOX_RELEASE_MEMORY"] != "1" { gbt_keep_freed_memory() }
}()

/// Process-wide settings of the engine.
public enum Torch {
    /// The libtorch version in use.
    public static var version: String { String(cString: gbt_version()) }

    /// Whether autograd records operations on this thread (off inside `noGrad`).
    public static var isGradEnabled: Bool { gbt_is_grad_enabled() != 0 }

    /// Whether this libtorch has oneDNN (MKL-DNN) for the blocked-layout inference path.
    public static var hasMKLDNN: Bool { gbt_has_mkldnn() != 0 }

    /// Intra-op threads; Debian's libtorch starts with one.
    public static var threads: Int { Int(gbt_get_num_threads()) }

    public static func setThreads(_ n: Int) throws {
        _ = engineDefaults
        try check(gbt_set_num_threads(Int32(n)), "set threads")
    }

    /// How idle OpenMP threads wait (OMP_WAIT_POLICY): Glassbox starts them passive, so they do
    /// not spin against the BLAS's threads; a value set in the environment is kept.
    public static var openMPWaitPolicy: String { String(cString: gbt_openmp_wait_policy()) }

    /// OpenBLAS's kernel family ("SkylakeX", "Haswell", "Zen", …). Glassbox starts OpenBLAS with
    /// the kernels the CPU's instructions allow when OpenBLAS does not know the CPU model and would
    /// fall back to its SSE3 ones; OPENBLAS_CORETYPE set in the environment is kept.
    public static var blasCore: String { String(cString: gbt_blas_core()) }

    public static var cudaDeviceCount: Int { Int(gbt_cuda_device_count()) }

    /// Seeds libtorch's global generator (dropout, default sampling).
    public static func manualSeed(_ seed: UInt64) {
        _ = gbt_manual_seed(seed)
    }
}
