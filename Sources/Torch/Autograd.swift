import CTorch
import Foundation

extension Tensor {
    public var requiresGrad: Bool {
        var flag: Int32 = 0
        _ = gbt_tensor_requires_grad(handle, &flag)
        return flag != 0
    }

    /// Marks a leaf tensor so autograd records operations on it; returns `self`.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) throws -> Tensor {
        try check(gbt_tensor_set_requires_grad(handle, flag ? 1 : 0), "requires grad")
        return self
    }

    /// The same values cut from the autograd graph (shares storage).
    public func detached() throws -> Tensor { try unary(GBT_DETACH, "detach") }

    /// The gradient accumulated by `backward`, if any.
    public var grad: Tensor? {
        var out: gbt_tensor?
        guard gbt_grad(handle, &out) == 0, let out else { return nil }
        return Tensor(handle: out)
    }

    /// Sets or clears (`nil`) the accumulated gradient.
    public func setGrad(_ grad: Tensor?) throws {
        try withExtendedLifetime(grad) { try check(gbt_set_grad(handle, grad?.handle), "set grad") }
    }

    /// Keeps `grad` on a non-leaf tensor after `backward`.
    public func retainGrad() throws {
        try check(gbt_retain_grad(handle), "retain grad")
    }

    /// Accumulates gradients of this tensor into the leaves' `grad`.
    public func backward(gradOutput: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false) throws {
        try withExtendedLifetime(gradOutput) {
            try check(gbt_backward(handle, gradOutput?.handle, retainGraph ? 1 : 0, createGraph ? 1 : 0), "backward")
        }
    }

    /// Registers `hook` to see (and optionally replace) the gradient flowing into this tensor.
    ///
    /// The hook receives the incoming gradient and returns a replacement, or
    /// `nil` to leave it unchanged. A thrown error aborts the backward pass and
    /// surfaces from `backward`/`grad(of:wrt:)`.
    @discardableResult
    public func registerGradientHook(_ hook: @escaping (Tensor) throws -> Tensor?) throws -> GradientHook {
        let box = Unmanaged.passRetained(HookBox(hook)).toOpaque()
        var id: Int64 = 0
        try check(gbt_register_hook(handle, gradientHookTrampoline, box, { Unmanaged<HookBox>.fromOpaque($0!).release() }, &id),
                  "register gradient hook")
        return GradientHook(tensor: self, id: id)
    }

    /// Differentiates `outputs` with respect to `inputs`.
    ///
    /// With `createGraph` the returned gradients are themselves differentiable,
    /// which gives higher-order derivatives (Hessian-vector products, gradient
    /// penalties). Unused inputs give `nil` when `allowUnused`, an error otherwise.
    public static func grad(of outputs: [Tensor], wrt inputs: [Tensor], gradOutputs: [Tensor?]? = nil,
                            retainGraph: Bool? = nil, createGraph: Bool = false, allowUnused: Bool = false) throws -> [Tensor?] {
        if let gradOutputs, gradOutputs.count != outputs.count {
            throw TorchError("grad: \(outputs.count) outputs but \(gradOutputs.count) gradOutputs")
        }
        var results = [gbt_tensor?](repeating: nil, count: Swift.max(inputs.count, 1))
        let keep = retainGraph ?? createGraph
        try withHandles(outputs) { outs in
            try withHandles(inputs) { ins in
                try withHandles(gradOutputs ?? outputs.map { _ in nil }) { gouts in
                    try check(gbt_autograd_grad(outs, Int64(outputs.count), ins, Int64(inputs.count), gouts,
                                                keep ? 1 : 0, createGraph ? 1 : 0, allowUnused ? 1 : 0, &results), "grad")
                }
            }
        }
        return results.prefix(inputs.count).map { $0.map(Tensor.init(handle:)) }
    }

    /// The gradient of one output with respect to one input.
    public static func grad(of output: Tensor, wrt input: Tensor, gradOutput: Tensor? = nil,
                            retainGraph: Bool? = nil, createGraph: Bool = false) throws -> Tensor {
        let result = try grad(of: [output], wrt: [input], gradOutputs: [gradOutput], retainGraph: retainGraph,
                              createGraph: createGraph, allowUnused: true)
        // An input the output does not depend on has a zero gradient.
        return try result[0] ?? input.zerosLike()
    }
}

/// A registered gradient hook; `remove()` detaches it.
public struct GradientHook {
    let tensor: Tensor
    let id: Int64

    public func remove() throws {
        try check(gbt_remove_hook(tensor.handle, id), "remove gradient hook")
    }
}

final class HookBox {
    let body: (Tensor) throws -> Tensor?
    init(_ body: @escaping (Tensor) throws -> Tensor?) { self.body = body }
}

private let gradientHookTrampoline: gbt_hook_fn = { context, grad, replacement, message in
    let box = Unmanaged<HookBox>.fromOpaque(context!).takeUnretainedValue()
    let incoming = Tensor(handle: grad!)
    do {
        if let result = try box.body(incoming) {
            var shared: gbt_tensor?
            guard gbt_tensor_share(result.handle, &shared) == 0 else { return 1 }
            replacement!.pointee = shared
        }
        return 0
    } catch {
        message!.pointee = strdup(String(describing: error))
        return 1
    }
}

/// Runs `body` with gradient recording off (inference, in-place updates).
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    var previous: Int32 = 0
    _ = gbt_set_grad_enabled(0, &previous)
    defer { _ = gbt_set_grad_enabled(previous, &previous) }
    return try body()
}

/// Runs `body` with gradient recording on, even inside `noGrad`.
public func withGrad<R>(_ body: () throws -> R) rethrows -> R {
    var previous: Int32 = 0
    _ = gbt_set_grad_enabled(1, &previous)
    defer { _ = gbt_set_grad_enabled(previous, &previous) }
    return try body()
}

extension Tensor {
    // MARK: in-place updates, for optimisers and running statistics

    /// self += alpha * other, in place.
    public func addInPlace(_ other: Tensor, alpha: Double = 1) throws {
        try withExtendedLifetime(other) { try check(gbt_add_(handle, other.handle, alpha), "add in place") }
    }

    public func multiplyInPlace(by scalar: Double) throws {
        try check(gbt_mul_scalar_(handle, scalar), "multiply in place")
    }

    /// self += value * a * b, in place.
    public func addProductInPlace(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        try withExtendedLifetime((a, b)) { try check(gbt_addcmul_(handle, a.handle, b.handle, value), "addcmul") }
    }

    /// self += value * a / b, in place.
    public func addQuotientInPlace(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        try withExtendedLifetime((a, b)) { try check(gbt_addcdiv_(handle, a.handle, b.handle, value), "addcdiv") }
    }

    /// One Adam step on this parameter in a single pass (the moments updated in place); false,
    /// with nothing changed, when the tensors are not contiguous CPU floats of one shape and dtype.
    public func fusedAdamStep(gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, learningRate: Double, betas: (Double, Double),
                              eps: Double, weightDecay: Double, decoupled: Bool, step: Int) throws -> Bool {
        var applied: Int32 = 0
        try withExtendedLifetime((gradient, firstMoment, secondMoment)) {
            try check(gbt_adam_step(handle, gradient.handle, firstMoment.handle, secondMoment.handle, learningRate, betas.0, betas.1, eps,
                                    weightDecay, decoupled ? 1 : 0, Int64(step), &applied), "Adam step")
        }
        return applied != 0
    }

    /// Copies `source`'s values into this tensor's storage.
    public func copyInPlace(from source: Tensor) throws {
        try withExtendedLifetime(source) {
            try check(gbt_copy_(handle, source.handle), "copy \(shapeText(source.shape)) into \(shapeText(shape))")
        }
    }

    public func fillInPlace(_ value: Double) throws {
        try check(gbt_fill_(handle, value), "fill")
    }
}

/// Whether the code running now has promised to take only first-order gradients, with respect to inputs.
public enum GradientOrder {
    @TaskLocal static var firstOrderOnly = false

    /// True inside `firstOrder(_:)`.
    public static var isFirstOrderOnly: Bool { firstOrderOnly }

    /// Runs `body` with the promise that nothing it records is differentiated twice, and that
    /// it takes gradients with respect to inputs only, never parameters.
    ///
    /// Models may then use kernels without a double-backward rule or without parameter
    /// gradients, such as a `ConvolutionPlan` (Winograd convolutions; about twice as fast as
    /// libtorch for a ResNet-18 input gradient on CPU) or oneDNN's blocked layout.
    public static func firstOrder<R>(_ body: () throws -> R) rethrows -> R {
        try $firstOrderOnly.withValue(true, operation: body)
    }
}
