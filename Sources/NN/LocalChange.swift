import Torch

/// Copies of one activation map that differ from it only inside a rectangle each: the same
/// size for every copy, at each copy's own position.
///
/// Occluding or ablating an image patch produces such a batch, and a convolution or pool then
/// changes only the outputs whose receptive field meets the rectangle; every other output equals
/// the unchanged map's. Computing just those (receptive-field-limited recomputation) is exact and
/// does a fraction of the work in the early layers, where the maps are large and the patch small.
public struct LocalChange {
    /// The unchanged map, (1, C, H, W).
    public let base: Tensor
    /// (P, C, h, w): each copy's values inside its rectangle.
    public let values: Tensor
    /// Each copy's rectangle: top rows (and height), left columns (and width).
    public let rows: Span, columns: Span

    /// Per-copy starts along one axis, with one common length.
    public struct Span: Equatable {
        public let starts: [Int]
        public let length: Int

        public init(starts: [Int], length: Int) {
            self.starts = starts
            self.length = length
        }

        /// The outputs of a window op (kernel, stride, padding) over an axis of `size` that read
        /// this span; clamped to the output and widened to one common length, shifting starts
        /// back from the far edge (extra outputs are recomputed, which is still exact).
        func reached(inputSize size: Int, kernel: Int, stride: Int, padding: Int) -> (span: Span, outputSize: Int) {
            let outputSize = (size + 2 * padding - kernel) / stride + 1
            let ranges = starts.map { start -> (Int, Int) in
                let first = Swift.max(0, ceilingDivision(start + padding - kernel + 1, stride))
                let last = Swift.min(outputSize - 1, floorDivision(start + length - 1 + padding, stride))
                return (first, last - first + 1)
            }
            let common = Swift.min(outputSize, Swift.max(1, ranges.map(\.1).max() ?? 1))
            return (Span(starts: ranges.map { Swift.min($0.0, outputSize - common) }, length: common), outputSize)
        }

        /// The smallest common span holding both spans of every copy.
        func union(_ other: Span, size: Int) -> Span {
            let pairs = zip(starts, other.starts).map { (Swift.min($0, $1), Swift.max($0 + length, $1 + other.length)) }
            let common = pairs.map { $0.1 - $0.0 }.max() ?? 1
            return Span(starts: pairs.map { Swift.min($0.0, size - common) }, length: common)
        }
    }

    public init(base: Tensor, values: Tensor, rows: Span, columns: Span) throws {
        guard base.rank == 4, base.shape[0] == 1, values.rank == 4,
              values.shape[1] == base.shape[1], values.shape[2] == rows.length, values.shape[3] == columns.length,
              rows.starts.count == values.shape[0], columns.starts.count == values.shape[0],
              zip(rows.starts, columns.starts).allSatisfy({ 0 <= $0 && $0 + rows.length <= base.shape[2]
                  && 0 <= $1 && $1 + columns.length <= base.shape[3] }) else {
            throw TorchError("a local change needs a (1, C, H, W) map and (P, C, h, w) values with P rectangles inside it; got \(base.shape), \(values.shape)")
        }
        self.base = base
        self.values = values
        self.rows = rows
        self.columns = columns
    }

    public var copies: Int { values.shape[0] }

    /// The share of the map each copy's rectangle covers.
    public var areaShare: Double {
        Double(rows.length * columns.length) / Double(base.shape[2] * base.shape[3])
    }

    /// (P, C, height, width) windows of every copy's whole map, padded by `padding` filled with
    /// `fill`, at per-copy origins given in padded coordinates: one index-select over the
    /// unchanged map's pixels followed by the copies' changed values. Channels last in memory
    /// (each gathered row is one pixel's channels; the result is a channels-last view, which
    /// libtorch's convolutions and pools take without reordering, about a quarter faster here).
    func windows(padding: Int, fill: Double, rowOrigins: [Int], columnOrigins: [Int], height: Int, width: Int) throws -> Tensor {
        let (channels, h, w) = (base.shape[1], rows.length, columns.length)
        let pixelsLast = try base.permuted([0, 2, 3, 1]).contiguous()
        let padded = padding > 0 ? try pixelsLast.padded([0, 0, padding, padding, padding, padding], value: fill) : pixelsLast
        let paddedWidth = padded.shape[2], pixels = padded.shape[1] * paddedWidth
        let source = try Tensor.cat([padded.reshaped([pixels, channels]), values.permuted([0, 2, 3, 1]).reshaped([-1, channels])], dim: 0)
        let copyCount = copies
        func coordinates(_ origins: [Int], _ count: Int) throws -> Tensor {
            try Tensor(origins, shape: [copyCount, 1]) + Tensor.arange(0, Double(count)).unsqueezed(dim: 0)
        }
        let paddedRows = try coordinates(rowOrigins, height), paddedColumns = try coordinates(columnOrigins, width)
        let localRows = try paddedRows - Tensor(rows.starts.map { $0 + padding }, shape: [copyCount, 1])
        let localColumns = try paddedColumns - Tensor(columns.starts.map { $0 + padding }, shape: [copyCount, 1])
        let inside = try localRows.ge(0).logicalAnd(localRows.lt(Double(h))).unsqueezed(dim: 2)
            .logicalAnd(localColumns.ge(0).logicalAnd(localColumns.lt(Double(w))).unsqueezed(dim: 1))
        // Integer scalars as int64 tensors: a Double scalar would promote the indices to floats.
        func integer(_ value: Int) throws -> Tensor { try Tensor(scalar: Double(value), dtype: .int64) }
        let baseIndex = try paddedRows.unsqueezed(dim: 2) * integer(paddedWidth) + paddedColumns.unsqueezed(dim: 1)
        let copyOffsets = try Tensor.arange(0, Double(copyCount)).reshaped([copyCount, 1, 1]) * integer(h * w) + integer(pixels)
        let valueIndex = try copyOffsets + localRows.unsqueezed(dim: 2) * integer(w) + localColumns.unsqueezed(dim: 1)
        let index = try Tensor.where(inside, valueIndex, baseIndex).reshaped([-1])
        return try source.indexSelect(dim: 0, index: index).reshaped([copyCount, height, width, channels]).permuted([0, 3, 1, 2])
    }

    /// Every copy's whole map, (P, C, H, W), contiguous.
    public func materialized() throws -> Tensor {
        let origins = Array(repeating: 0, count: copies)
        return try windows(padding: 0, fill: 0, rowOrigins: origins, columnOrigins: origins,
                           height: base.shape[2], width: base.shape[3]).contiguous()
    }

    /// The same copies described over other rectangles, each holding every pixel where the
    /// copy differs from the unchanged map.
    public func reframed(rows newRows: Span, columns newColumns: Span) throws -> LocalChange {
        if newRows == rows, newColumns == columns { return self }
        return try LocalChange(base: base,
                               values: windows(padding: 0, fill: 0, rowOrigins: newRows.starts, columnOrigins: newColumns.starts,
                                               height: newRows.length, width: newColumns.length),
                               rows: newRows, columns: newColumns)
    }

    /// `operation` on the changed outputs of a window op over padded input: each copy's input
    /// window that feeds them runs through `operation` with no padding; the unchanged map runs
    /// through `whole`. Nil when the changed outputs would cover more than `largestShare` of
    /// the output map (then the whole batch is cheaper).
    func throughWindowOperation(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), fill: Double,
                                largestShare: Double,
                                operation: (Tensor) throws -> Tensor, whole: (Tensor) throws -> Tensor) throws -> LocalChange? {
        guard padding.0 == padding.1 else { return nil }
        let (newRows, height) = rows.reached(inputSize: base.shape[2], kernel: kernel.0, stride: stride.0, padding: padding.0)
        let (newColumns, width) = columns.reached(inputSize: base.shape[3], kernel: kernel.1, stride: stride.1, padding: padding.1)
        guard Double(newRows.length * newColumns.length) <= largestShare * Double(height * width) else { return nil }
        let inputs = try windows(padding: padding.0, fill: fill,
                                 rowOrigins: newRows.starts.map { $0 * stride.0 }, columnOrigins: newColumns.starts.map { $0 * stride.1 },
                                 height: (newRows.length - 1) * stride.0 + kernel.0, width: (newColumns.length - 1) * stride.1 + kernel.1)
        return try LocalChange(base: whole(base), values: operation(inputs), rows: newRows, columns: newColumns)
    }

    /// An elementwise (or per-channel) map applied to the unchanged map and the changed values.
    func mapped(_ body: (Tensor) throws -> Tensor) throws -> LocalChange {
        try LocalChange(base: body(base), values: body(values), rows: rows, columns: columns)
    }

    /// The sum of two changes of maps of one shape, over the union of their rectangles.
    static func + (a: LocalChange, b: LocalChange) throws -> LocalChange {
        let rows = a.rows.union(b.rows, size: a.base.shape[2]), columns = a.columns.union(b.columns, size: a.base.shape[3])
        let (left, right) = (try a.reframed(rows: rows, columns: columns), try b.reframed(rows: rows, columns: columns))
        return try LocalChange(base: left.base + right.base, values: left.values + right.values, rows: rows, columns: columns)
    }
}

/// A batch flowing through a model's local forward pass (`Module.forward(locally:)`): still a
/// local change, or already whole maps.
public enum LocalActivations {
    case local(LocalChange)
    case whole(Tensor)

    /// The batch as whole maps.
    public func materialized() throws -> Tensor {
        switch self {
        case .local(let change): try change.materialized()
        case .whole(let x): x
        }
    }

    /// A window op (convolution or pool) computed locally while the change stays under
    /// `largestShare` of the output map, else on whole maps.
    func throughWindowOperation(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), fill: Double,
                                largestShare: Double = LocalChange.largestShare,
                                operation: (Tensor) throws -> Tensor, whole: (Tensor) throws -> Tensor) throws -> LocalActivations {
        if case .local(let change) = self,
           let result = try change.throughWindowOperation(kernel: kernel, stride: stride, padding: padding, fill: fill,
                                                          largestShare: largestShare, operation: operation, whole: whole) {
            return .local(result)
        }
        return .whole(try whole(materialized()))
    }

    /// A convolution (padding with zeros) computed locally where it pays. `windowPlan`, when
    /// given, is the same 3×3 stride-1 convolution with padding 1 as a plan (see
    /// `WindowConvolutionPlans`): each window runs on it and loses its border pixel, which leaves
    /// exactly the window's valid outputs.
    func convolved(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), windowPlan: ConvolutionPlan? = nil) throws -> LocalActivations {
        try throughWindowOperation(kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding, fill: 0,
                                   operation: { window in
                                       guard let windowPlan else { return try Functional.conv2d(window, weight: weight, bias: bias, stride: stride) }
                                       let y = try windowPlan(window)
                                       return try y.slice(dim: 2, start: 1, end: y.shape[2] - 1).slice(dim: 3, start: 1, end: y.shape[3] - 1)
                                   },
                                   whole: { try Functional.conv2d($0, weight: weight, bias: bias, stride: stride, padding: padding) })
    }

    func mapped(_ body: (Tensor) throws -> Tensor) throws -> LocalActivations {
        switch self {
        case .local(let change): .local(try change.mapped(body))
        case .whole(let x): .whole(try body(x))
        }
    }

    static func + (a: LocalActivations, b: LocalActivations) throws -> LocalActivations {
        if case .local(let left) = a, case .local(let right) = b { return .local(try left + right) }
        return .whole(try a.materialized() + b.materialized())
    }
}

extension LocalChange {
    /// Above this share of an output map, a window op runs on whole maps: gathering the windows
    /// costs about what the rest would save.
    public static let largestShare = 0.5
}

private func floorDivision(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

private func ceilingDivision(_ a: Int, _ b: Int) -> Int {
    -floorDivision(-a, b)
}

extension Module {
    /// The model's outputs for every copy of a local change, computing each layer only where the
    /// change reaches (`forward(locally:)`); nil when the model is training or has hooks (its
    /// layers then need whole maps, or the hooks would see partial ones).
    public func outputs(locally change: LocalChange) throws -> Tensor? {
        guard namedModules().allSatisfy({ !$0.module.isTraining && $0.module.hooks.isEmpty }) else { return nil }
        func channelsLast(_ x: Tensor) throws -> Tensor { try x.permuted([0, 2, 3, 1]).contiguous().permuted([0, 3, 1, 2]) }
        let start = try LocalChange(base: channelsLast(change.base), values: channelsLast(change.values), rows: change.rows, columns: change.columns)
        return try forward(locally: .local(start)).materialized().contiguous()
    }
}
