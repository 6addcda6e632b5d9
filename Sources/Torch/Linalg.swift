import CTorch

extension Tensor {
    /// Reduced singular value decomposition: self = U · diag(S) · Vh.
    public func svd(fullMatrices: Bool = false) throws -> (u: Tensor, s: Tensor, vh: Tensor) {
        var u: gbt_tensor?
        var s: gbt_tensor?
        var vh: gbt_tensor?
        try check(gbt_svd(handle, fullMatrices ? 1 : 0, &u, &s, &vh), "svd of \(shapeText(shape))")
        return (Tensor(handle: u!), Tensor(handle: s!), Tensor(handle: vh!))
    }

    /// The singular values alone, descending (batched over leading dimensions): about half the
    /// time of `svd()`, which also finds the singular vectors.
    public func singularValues() throws -> Tensor {
        try makeTensor("singular values of \(shapeText(shape))") { gbt_svdvals(handle, &$0) }
    }

    /// The least-squares solution X of self · X ≈ b.
    public func leastSquares(_ b: Tensor) throws -> Tensor {
        try withExtendedLifetime(b) {
            try makeTensor("least squares of \(shapeText(shape)) and \(shapeText(b.shape))") { gbt_lstsq(handle, b.handle, &$0) }
        }
    }
}
