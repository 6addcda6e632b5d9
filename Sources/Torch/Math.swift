import CTorch

extension Tensor {
    func unary(_ op: Int, _ name: String) throws -> Tensor {
        try makeTensor(name) { gbt_unary(Int32(op), handle, &$0) }
    }

    func binary(_ op: Int, _ other: Tensor, _ name: String) throws -> Tensor {
        try withExtendedLifetime(other) {
            try makeTensor("\(name) of \(shapeText(shape)) \(dtype) and \(shapeText(other.shape)) \(other.dtype)") {
                gbt_binary(Int32(op), handle, other.handle, &$0)
            }
        }
    }

    func binary(_ op: Int, _ scalar: Double, reversed: Bool = false, _ name: String) throws -> Tensor {
        try makeTensor("\(name) of \(shapeText(shape)) \(dtype) and a scalar") {
            gbt_binary_scalar(Int32(op), handle, scalar, reversed ? 1 : 0, &$0)
        }
    }

    // MARK: arithmetic operators (broadcasting, PyTorch's type promotion)

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(GBT_ADD, b, "add") }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(GBT_SUB, b, "subtract") }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(GBT_MUL, b, "multiply") }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(GBT_DIV, b, "divide") }
    public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(GBT_ADD, b, "add") }
    public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(GBT_SUB, b, "subtract") }
    public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(GBT_MUL, b, "multiply") }
    public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(GBT_DIV, b, "divide") }
    public static func + (a: Double, b: Tensor) throws -> Tensor { try b.binary(GBT_ADD, a, reversed: true, "add") }
    public static func - (a: Double, b: Tensor) throws -> Tensor { try b.binary(GBT_SUB, a, reversed: true, "subtract") }
    public static func * (a: Double, b: Tensor) throws -> Tensor { try b.binary(GBT_MUL, a, reversed: true, "multiply") }
    public static func / (a: Double, b: Tensor) throws -> Tensor { try b.binary(GBT_DIV, a, reversed: true, "divide") }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(GBT_NEG, "negate") }

    public func pow(_ exponent: Double) throws -> Tensor { try binary(GBT_POW, exponent, "pow") }
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(GBT_POW, exponent, "pow") }
    public func remainder(_ divisor: Double) throws -> Tensor { try binary(GBT_REMAINDER, divisor, "remainder") }
    public func floorDivide(_ divisor: Double) throws -> Tensor { try binary(GBT_FLOOR_DIVIDE, divisor, "floor divide") }

    /// Matrix product with NumPy/PyTorch broadcasting rules.
    public func matmul(_ other: Tensor) throws -> Tensor { try binary(GBT_MATMUL, other, "matmul") }

    public static func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try a.binary(GBT_MAXIMUM, b, "maximum") }
    public static func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try a.binary(GBT_MINIMUM, b, "minimum") }
    public static func atan2(_ y: Tensor, _ x: Tensor) throws -> Tensor { try y.binary(GBT_ATAN2, x, "atan2") }

    // MARK: comparisons (boolean tensors)

    public func eq(_ other: Tensor) throws -> Tensor { try binary(GBT_EQ, other, "eq") }
    public func ne(_ other: Tensor) throws -> Tensor { try binary(GBT_NE, other, "ne") }
    public func lt(_ other: Tensor) throws -> Tensor { try binary(GBT_LT, other, "lt") }
    public func le(_ other: Tensor) throws -> Tensor { try binary(GBT_LE, other, "le") }
    public func gt(_ other: Tensor) throws -> Tensor { try binary(GBT_GT, other, "gt") }
    public func ge(_ other: Tensor) throws -> Tensor { try binary(GBT_GE, other, "ge") }
    public func eq(_ value: Double) throws -> Tensor { try binary(GBT_EQ, value, "eq") }
    public func ne(_ value: Double) throws -> Tensor { try binary(GBT_NE, value, "ne") }
    public func lt(_ value: Double) throws -> Tensor { try binary(GBT_LT, value, "lt") }
    public func le(_ value: Double) throws -> Tensor { try binary(GBT_LE, value, "le") }
    public func gt(_ value: Double) throws -> Tensor { try binary(GBT_GT, value, "gt") }
    public func ge(_ value: Double) throws -> Tensor { try binary(GBT_GE, value, "ge") }
    public func logicalAnd(_ other: Tensor) throws -> Tensor { try binary(GBT_LOGICAL_AND, other, "logical and") }
    public func logicalOr(_ other: Tensor) throws -> Tensor { try binary(GBT_LOGICAL_OR, other, "logical or") }
    public func logicalNot() throws -> Tensor { try unary(GBT_LOGICAL_NOT, "logical not") }

    // MARK: elementwise functions

    public func abs() throws -> Tensor { try unary(GBT_ABS, "abs") }
    public func exp() throws -> Tensor { try unary(GBT_EXP, "exp") }
    public func log() throws -> Tensor { try unary(GBT_LOG, "log") }
    public func sqrt() throws -> Tensor { try unary(GBT_SQRT, "sqrt") }
    public func rsqrt() throws -> Tensor { try unary(GBT_RSQRT, "rsqrt") }
    public func sin() throws -> Tensor { try unary(GBT_SIN, "sin") }
    public func cos() throws -> Tensor { try unary(GBT_COS, "cos") }
    public func tanh() throws -> Tensor { try unary(GBT_TANH, "tanh") }
    public func sigmoid() throws -> Tensor { try unary(GBT_SIGMOID, "sigmoid") }
    public func relu() throws -> Tensor { try unary(GBT_RELU, "relu") }
    /// GELU with the exact erf form (PyTorch's default).
    public func gelu() throws -> Tensor { try unary(GBT_GELU, "gelu") }
    public func silu() throws -> Tensor { try unary(GBT_SILU, "silu") }
    public func softplus() throws -> Tensor { try unary(GBT_SOFTPLUS, "softplus") }
    public func square() throws -> Tensor { try unary(GBT_SQUARE, "square") }
    public func sign() throws -> Tensor { try unary(GBT_SIGN, "sign") }
    public func floor() throws -> Tensor { try unary(GBT_FLOOR, "floor") }
    public func ceil() throws -> Tensor { try unary(GBT_CEIL, "ceil") }
    public func rounded() throws -> Tensor { try unary(GBT_ROUND, "round") }
    public func log1p() throws -> Tensor { try unary(GBT_LOG1P, "log1p") }
    public func expm1() throws -> Tensor { try unary(GBT_EXPM1, "expm1") }
    public func reciprocal() throws -> Tensor { try unary(GBT_RECIPROCAL, "reciprocal") }
    public func erf() throws -> Tensor { try unary(GBT_ERF, "erf") }
    public func isNaN() throws -> Tensor { try unary(GBT_ISNAN, "isnan") }
    public func isFinite() throws -> Tensor { try unary(GBT_ISFINITE, "isfinite") }

    /// A copy with its own storage.
    public func clone() throws -> Tensor { try unary(GBT_CLONE, "clone") }
    public func contiguous() throws -> Tensor { try unary(GBT_CONTIGUOUS, "contiguous") }
    /// The same values in oneDNN's blocked layout (CPU float32), which its convolutions, pooling,
    /// ReLU and addition read without reordering; no autograd, so for inference only.
    public func toMKLDNN() throws -> Tensor { try unary(GBT_TO_MKLDNN, "to MKL-DNN layout") }
    /// Back from oneDNN's blocked layout to a strided tensor.
    public func toDense() throws -> Tensor { try unary(GBT_TO_DENSE, "to dense layout") }
    public func zerosLike() throws -> Tensor { try unary(GBT_ZEROS_LIKE, "zeros like") }
    public func onesLike() throws -> Tensor { try unary(GBT_ONES_LIKE, "ones like") }

    /// Elementwise `condition ? a : b`.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try withExtendedLifetime((condition, a, b)) {
            try makeTensor("where(\(shapeText(condition.shape)), \(shapeText(a.shape)), \(shapeText(b.shape)))") {
                gbt_where(condition.handle, a.handle, b.handle, &$0)
            }
        }
    }

    public func clamp(min: Double? = nil, max: Double? = nil) throws -> Tensor {
        try makeTensor("clamp") { gbt_clamp(handle, min == nil ? 0 : 1, min ?? 0, max == nil ? 0 : 1, max ?? 0, &$0) }
    }

    /// True when every element is finite (no NaN, no infinity).
    public func allFinite() throws -> Bool {
        guard dtype.isFloatingPoint else { return true }
        return try isFinite().to(.int64).sum().itemInt() == count
    }

    // MARK: reductions

    func reduce(_ op: Int, _ dims: [Int], keepDims: Bool, _ name: String) throws -> Tensor {
        try withInt64s(dims) { d, n in
            try makeTensor("\(name) over \(dims) of \(shapeText(shape))") {
                gbt_reduce(Int32(op), handle, d, n, keepDims ? 1 : 0, &$0)
            }
        }
    }

    /// Sum over `dims` (all dimensions when empty).
    public func sum(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_SUM, dims, keepDims: keepDims, "sum") }
    public func mean(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_MEAN, dims, keepDims: keepDims, "mean") }
    public func max(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_AMAX, dims, keepDims: keepDims, "max") }
    public func min(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_AMIN, dims, keepDims: keepDims, "min") }
    public func prod(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_PROD, dims, keepDims: keepDims, "prod") }
    /// Sample standard deviation (Bessel-corrected, as PyTorch's default).
    public func std(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_STD, dims, keepDims: keepDims, "std") }
    public func variance(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_VAR, dims, keepDims: keepDims, "var") }
    public func logSumExp(dims: [Int], keepDims: Bool = false) throws -> Tensor { try reduce(GBT_LOGSUMEXP, dims, keepDims: keepDims, "logsumexp") }

    /// Index of the largest element along `dim`, or in the flattened tensor.
    public func argmax(dim: Int? = nil, keepDims: Bool = false) throws -> Tensor {
        try makeTensor("argmax") { gbt_argextreme(handle, 0, dim == nil ? 0 : 1, Int64(dim ?? 0), keepDims ? 1 : 0, &$0) }
    }

    public func argmin(dim: Int? = nil, keepDims: Bool = false) throws -> Tensor {
        try makeTensor("argmin") { gbt_argextreme(handle, 1, dim == nil ? 0 : 1, Int64(dim ?? 0), keepDims ? 1 : 0, &$0) }
    }

    /// The p-norm over `dims` (all when empty); `p = .infinity` for the max norm.
    public func norm(_ p: Double = 2, dims: [Int] = [], keepDims: Bool = false) throws -> Tensor {
        try withInt64s(dims) { d, n in
            try makeTensor("norm") { gbt_vector_norm(handle, p, d, n, keepDims ? 1 : 0, &$0) }
        }
    }

    public func cumsum(dim: Int) throws -> Tensor {
        try makeTensor("cumsum") { gbt_cumsum(handle, Int64(dim), &$0) }
    }

    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        var values: gbt_tensor?
        var indices: gbt_tensor?
        try check(gbt_topk(handle, Int64(k), Int64(dim), largest ? 1 : 0, &values, &indices), "topk \(k) of \(shapeText(shape))")
        return (Tensor(handle: values!), Tensor(handle: indices!))
    }

    public func sorted(dim: Int = -1, descending: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var values: gbt_tensor?
        var indices: gbt_tensor?
        try check(gbt_sort(handle, Int64(dim), descending ? 1 : 0, &values, &indices), "sort")
        return (Tensor(handle: values!), Tensor(handle: indices!))
    }

    public func softmax(dim: Int) throws -> Tensor {
        try makeTensor("softmax over \(dim) of \(shapeText(shape))") { gbt_softmax(handle, Int64(dim), 0, &$0) }
    }

    public func logSoftmax(dim: Int) throws -> Tensor {
        try makeTensor("log-softmax over \(dim) of \(shapeText(shape))") { gbt_softmax(handle, Int64(dim), 1, &$0) }
    }
}
