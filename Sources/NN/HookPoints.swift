import Torch

/// Activations recorded at hook points during one forward pass.
public struct ActivationCache {
    public let activations: [String: Tensor]

    public subscript(hookPoint: String) -> Tensor? { activations[hookPoint] }

    /// The gradient that reached each cached activation in the last backward pass
    /// (present when the cache was made with `retainGradients`).
    public func gradient(at hookPoint: String) -> Tensor? { activations[hookPoint]?.grad }
}

private nonisolated(unsafe) var nextHookID = 0

extension Module {
    /// Every hook point's name (module paths), root excluded.
    public var hookPointNames: [String] {
        namedModules().map(\.path).filter { !$0.isEmpty }
    }

    func module(at hookPoint: String) throws -> Module {
        if let found = namedModules().first(where: { $0.path == hookPoint }) { return found.module }
        let names = hookPointNames
        let shown = names.prefix(40).joined(separator: ", ")
        throw TorchError("no hook point '\(hookPoint)'; this model has: \(shown)\(names.count > 40 ? ", …" : "")")
    }

    /// Runs `body` with `hooks` attached; they are removed on exit, also after an error.
    public func withHooks<R>(_ hooks: [(hookPoint: String, hook: ActivationHook)], _ body: () throws -> R) throws -> R {
        var attached: [(Module, Int)] = []
        defer {
            for (module, id) in attached { module.hooks.removeAll { $0.id == id } }
        }
        for (name, hook) in hooks {
            let target = try module(at: name)
            nextHookID += 1
            target.hooks.append((nextHookID, hook))
            attached.append((target, nextHookID))
        }
        return try body()
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

    /// Runs the model with the activation at `hookPoint` replaced by `transform(activation)`.
    public func runWithPatch(_ x: Tensor, at hookPoint: String, _ transform: @escaping (Tensor) throws -> Tensor) throws -> Tensor {
        try withHooks([(hookPoint, { activation, _ in try transform(activation) })]) { try self(x) }
    }
}
