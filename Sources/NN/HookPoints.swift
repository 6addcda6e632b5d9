import Torch

/// Activations recorded at hook points during one forward pass.
public struct ActivationCache {
    public let activations: [String: Tensor]

    public subscript(hookPoint: String) -> Tensor? { activations[hookPoint] }

    /// The gradient that reached each cached activation in the last backward pass
    /// (present when the cache was made with `retainGradients`).
    public func gradient(at hookPoint: String) -> Tensor? { activations[hookPoint]?.grad }
}

extension Module {
    /// Every hook point's name (module paths), root excluded.
    public var hookPointNames: [String] {
        namedModules().map(\.path).filter { !$0.isEmpty }
    }

    func module(at hookPoint: String) throws -> Module {
        if let found = namedModules().first(where: { $0.path == hookPoint }) { return found.module }
        throw missingHookPoint(hookPoint)
    }

    /// Throws for the first of `points` (in order) that is not one of this model's hook points.
    public func checkHookPoints(_ points: [String]) throws {
        let names = Set(hookPointNames)
        if let missing = points.first(where: { !names.contains($0) }) { throw missingHookPoint(missing) }
    }

    /// The error for a name that is not a hook point, listing (the first 40 of) the model's.
    func missingHookPoint(_ hookPoint: String) -> TorchError {
        let names = hookPointNames
        let shown = names.prefix(40).joined(separator: ", ")
        return TorchError("no hook point '\(hookPoint)'; this model has: \(shown)\(names.count > 40 ? ", …" : "")")
    }

    /// Runs `body` with `hooks` attached. They live in the calling task's scope, not on the
    /// model: they end with `body` (also after an error), and other threads or tasks running the
    /// same model at the same time do not see them.
    public func withHooks<R>(_ hooks: [(hookPoint: String, hook: ActivationHook)], _ body: () throws -> R) throws -> R {
        let attached = try hooks.map { (try module(at: $0.hookPoint), $0.hook) }
        return try ForwardScope.with(hooks: attached, body)
    }

    /// Runs `body` with every ReLU module of this model using `rule` for its backward pass
    /// (Guided Backprop, DeconvNet), scoped like `withHooks`.
    public func withReLUBackwardRule<R>(_ rule: ReLUBackwardRule, _ body: () throws -> R) throws -> R {
        let relus = namedModules().map(\.module).filter { $0 is ReLU }
        guard !relus.isEmpty else { throw TorchError("this model has no ReLU modules whose backward rule could change") }
        return try ForwardScope.with(reluRule: (rule, relus), body)
    }

    /// Runs the model and records the activations at the hook points `names` selects.
    ///
    /// With `retainGradients`, each cached activation keeps its gradient after a
    /// later `backward()`, readable with `cache.gradient(at:)`.
    public func runWithCache(_ x: Tensor, names: (String) -> Bool = { _ in true },
                             retainGradients: Bool = false) throws -> (output: Tensor, cache: ActivationCache) {
        var recorded: [String: Tensor] = [:]
        let selected = hookPointNames.filter(names)
        let hooks: [(hookPoint: String, hook: ActivationHook)] = selected.map { name in
            (name, { activation, point in
                if retainGradients && activation.requiresGrad { try activation.retainGrad() }
                recorded[point] = activation
                return nil
            })
        }
        let output = try withHooks(hooks) { try self(x) }
        return (output, ActivationCache(activations: recorded))
    }

    /// The activations at `hookPoints` for input `x`, the forward pass stopped as soon as the
    /// last of them has been reached (TransformerLens's `stop_at_layer`): the layers after it,
    /// an unembedding for one, are never run.
    public func activations(at hookPoints: [String], for x: Tensor) throws -> [Tensor] {
        struct Reached: Error {}
        var captured: [String: Tensor] = [:]
        let wanted = Set(hookPoints)
        do {
            _ = try withHooks(hookPoints.map { name in
                (name, { activation, _ in
                    captured[name] = activation
                    if captured.count == wanted.count { throw Reached() }
                    return nil
                })
            }) { try self(x) }
        } catch is Reached {}
        return try hookPoints.map { name in
            guard let activation = captured[name] else { throw TorchError("hook point '\(name)' was not reached in the forward pass") }
            return activation
        }
    }

    /// Runs the model with the activation at `hookPoint` replaced by `transform(activation)`.
    public func runWithPatch(_ x: Tensor, at hookPoint: String, _ transform: @escaping (Tensor) throws -> Tensor) throws -> Tensor {
        try withHooks([(hookPoint, { activation, _ in try transform(activation) })]) { try self(x) }
    }
}
