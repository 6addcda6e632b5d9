import CTorch

extension Tensor {
    /// The same elements in a new shape; one size may be -1.
    public func reshaped(_ shape: [Int]) throws -> Tensor {
        try withInt64s(shape) { d, n in
            try makeTensor("reshape \(shapeText(self.shape)) to \(shapeText(shape))") { gbt_reshape(handle, d, n, &$0) }
        }
    }

    public func permuted(_ dims: [Int]) throws -> Tensor {
        try withInt64s(dims) { d, n in
            try makeTensor("permute \(shapeText(shape)) by \(dims)") { gbt_permute(handle, d, n, &$0) }
        }
    }

    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        try makeTensor("transpose \(a), \(b) of \(shapeText(shape))") { gbt_transpose(handle, Int64(a), Int64(b), &$0) }
    }

    /// The matrix transpose of a 2-D tensor.
    public func t() throws -> Tensor {
        guard rank == 2 else { throw TorchError("t() needs a 2-D tensor, got shape \(shapeText(shape))") }
        return try transposed(0, 1)
    }

    /// A broadcast view with `shape`; -1 keeps a size.
    public func expanded(to shape: [Int]) throws -> Tensor {
        try withInt64s(shape) { d, n in
            try makeTensor("expand \(shapeText(self.shape)) to \(shapeText(shape))") { gbt_expand(handle, d, n, &$0) }
        }
    }

    public func repeated(_ repeats: [Int]) throws -> Tensor {
        try withInt64s(repeats) { d, n in
            try makeTensor("repeat \(shapeText(shape)) by \(repeats)") { gbt_repeat(handle, d, n, &$0) }
        }
    }

    /// Each example (entry along dimension 0) `count` times in a row: (N, …) → (N · count, …),
    /// example-major, as sampling methods lay out their perturbed copies.
    public func repeatingRows(_ count: Int) throws -> Tensor {
        let rest = Array(shape.dropFirst())
        return try unsqueezed(dim: 1).expanded(to: [shape[0], count] + rest).reshaped([shape[0] * count] + rest)
    }

    public func squeezed(dim: Int? = nil) throws -> Tensor {
        try makeTensor("squeeze") { gbt_squeeze(handle, dim == nil ? 0 : 1, Int64(dim ?? 0), &$0) }
    }

    public func unsqueezed(dim: Int) throws -> Tensor {
        try makeTensor("unsqueeze \(dim) of \(shapeText(shape))") { gbt_unsqueeze(handle, Int64(dim), &$0) }
    }

    public func flattened(from start: Int = 0, to end: Int = -1) throws -> Tensor {
        try makeTensor("flatten") { gbt_flatten(handle, Int64(start), Int64(end), &$0) }
    }

    /// Elements `start..<end` along `dim`, `step` apart (a view).
    public func slice(dim: Int, start: Int, end: Int, step: Int = 1) throws -> Tensor {
        try makeTensor("slice \(start)..<\(end) of dim \(dim) of \(shapeText(shape))") {
            gbt_slice(handle, Int64(dim), Int64(start), Int64(end), Int64(step), &$0)
        }
    }

    /// The slice at `index` along `dim`, with that dimension removed.
    public func select(dim: Int, index: Int) throws -> Tensor {
        try makeTensor("select index \(index) of dim \(dim) of \(shapeText(shape))") {
            gbt_select(handle, Int64(dim), Int64(index), &$0)
        }
    }

    public subscript(index: Int) -> Tensor {
        get throws { try select(dim: 0, index: index) }
    }

    public subscript(range: Range<Int>) -> Tensor {
        get throws { try slice(dim: 0, start: range.lowerBound, end: range.upperBound) }
    }

    /// Rows (along `dim`) picked by an int64 index tensor.
    public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
        try withExtendedLifetime(index) {
            try makeTensor("index select along \(dim) of \(shapeText(shape)) by \(shapeText(index.shape))") {
                gbt_index_select(handle, Int64(dim), index.handle, &$0)
            }
        }
    }

    public func maskedSelect(_ mask: Tensor) throws -> Tensor {
        try withExtendedLifetime(mask) {
            try makeTensor("masked select") { gbt_masked_select(handle, mask.handle, &$0) }
        }
    }

    /// The positions of the true entries of this one-dimensional mask, as int64.
    public func nonzeroIndices() throws -> Tensor {
        guard rank == 1 else { throw TorchError("nonzero indices need a one-dimensional mask, got \(shape)") }
        return try Tensor.arange(0, Double(count)).maskedSelect(self)
    }

    public func maskedFill(_ mask: Tensor, with value: Double) throws -> Tensor {
        try withExtendedLifetime(mask) {
            try makeTensor("masked fill") { gbt_masked_fill(handle, mask.handle, value, &$0) }
        }
    }

    public func gather(dim: Int, index: Tensor) throws -> Tensor {
        try withExtendedLifetime(index) {
            try makeTensor("gather along \(dim) of \(shapeText(shape)) by \(shapeText(index.shape))") {
                gbt_gather(handle, Int64(dim), index.handle, &$0)
            }
        }
    }

    /// A copy with `source` written at `index` along `dim` (added when `accumulate`).
    public func scatter(dim: Int, index: Tensor, source: Tensor, accumulate: Bool = false) throws -> Tensor {
        try withExtendedLifetime((index, source)) {
            try makeTensor("scatter along \(dim) of \(shapeText(shape))") {
                gbt_scatter(handle, Int64(dim), index.handle, source.handle, accumulate ? 1 : 0, &$0)
            }
        }
    }

    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        try withHandles(tensors) { handles in
            try makeTensor("cat of \(tensors.map { shapeText($0.shape) }.joined(separator: ", ")) along \(dim)") {
                gbt_cat(handles, Int64(tensors.count), Int64(dim), &$0)
            }
        }
    }

    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        try withHandles(tensors) { handles in
            try makeTensor("stack of \(tensors.map { shapeText($0.shape) }.joined(separator: ", "))") {
                gbt_stack(handles, Int64(tensors.count), Int64(dim), &$0)
            }
        }
    }

    public func oneHot(classes: Int) throws -> Tensor {
        try makeTensor("one hot") { gbt_one_hot(handle, Int64(classes), &$0) }
    }

    /// Constant padding; `pad` lists (before, after) pairs from the last dimension backwards.
    public func padded(_ pad: [Int], value: Double = 0) throws -> Tensor {
        try withInt64s(pad) { d, n in
            try makeTensor("pad \(shapeText(shape)) by \(pad)") { gbt_pad(handle, d, n, value, &$0) }
        }
    }
}
