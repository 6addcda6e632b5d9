import Torch

/// A hook on a hook point: sees the activation and returns a replacement, or `nil` to observe only.
public typealias ActivationHook = (_ activation: Tensor, _ hookPoint: String) throws -> Tensor?

/// A network layer or a composition of layers.
///
/// Parameters and buffers are named exactly like PyTorch's `state_dict`
/// (`0.weight`, `features.3.bias`, `bn.running_mean`), so checkpoints move
/// both ways. Every module's output is a *hook point* named by its path in the
/// model (TransformerLens style): hooks there can read the activation, replace
/// it, or retain its gradient.
open class Module {
    /// This module's path in its root model ("" for the root).
    public internal(set) var path: String = ""
    public internal(set) var isTraining = true

    /// The hooks on this module in the calling task's scope (none outside `withHooks`).
    var hooks: [ActivationHook] { ForwardScope.current?.hooks[ObjectIdentifier(self)] ?? [] }

    public init() {}

    /// The computation; subclasses override this. Call the module itself to run hooks too.
    open func forward(_ x: Tensor) throws -> Tensor {
        fatalError("\(type(of: self)) must override forward(_:)")
    }

    /// Named direct submodules, in PyTorch's order and naming.
    open var children: [(name: String, module: Module)] { [] }

    /// This module's own trainable parameters (not its children's).
    open var localParameters: [(name: String, tensor: Tensor)] { [] }

    /// This module's own non-trainable state (running statistics).
    open var localBuffers: [(name: String, tensor: Tensor)] { [] }

    /// The model split after its first layer when that layer is affine in the input and no hook
    /// can change its output; nil otherwise.
    open var affineSplit: AffineSplit? { nil }

    /// This module on a batch that may still be a local change of one map (`LocalChange`);
    /// modules that can compute only the changed outputs override it, the rest run on whole maps.
    /// Only called in eval mode with no hooks (`outputs(locally:)`).
    open func forward(locally x: LocalActivations) throws -> LocalActivations {
        .whole(try forward(x.materialized()))
    }

    public final func callAsFunction(_ x: Tensor) throws -> Tensor {
        var y = try forward(x)
        for hook in hooks {
            if let replacement = try hook(y, path) {
                guard replacement.shape == y.shape else {
                    throw TorchError("hook at '\(path)' returned shape \(replacement.shape), expected \(y.shape)")
                }
                y = replacement
            }
        }
        return y
    }

    /// Gives every module its dotted path; call once on the root after building it.
    public func assignPaths(prefix: String = "") {
        path = prefix
        for (name, child) in children {
            child.assignPaths(prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
    }

    /// All modules in depth-first order, with their paths.
    public func namedModules() -> [(path: String, module: Module)] {
        var result: [(String, Module)] = [(path, self)]
        for (_, child) in children { result += child.namedModules() }
        return result
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        namedState { $0.localParameters }
    }

    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        namedState { $0.localBuffers }
    }

    func namedState(_ local: (Module) -> [(name: String, tensor: Tensor)]) -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        func visit(_ module: Module, _ prefix: String) {
            for (name, tensor) in local(module) { result.append((prefix + name, tensor)) }
            for (name, child) in module.children { visit(child, prefix + name + ".") }
        }
        visit(self, "")
        return result
    }

    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Parameters and buffers by name, as PyTorch's `state_dict()`.
    public func stateDict() -> [String: Tensor] {
        Dictionary((namedParameters() + namedBuffers()).map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    }

    /// Copies tensors into this model's parameters and buffers by name.
    ///
    /// With `strict`, missing or unexpected names are errors; shapes must always match.
    /// Values are converted to each parameter's dtype.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        let own = namedParameters() + namedBuffers()
        let ownNames = Set(own.map(\.name))
        if strict {
            let missing = own.map(\.name).filter { state[$0] == nil }
            let unexpected = state.keys.filter { !ownNames.contains($0) }.sorted()
            if !missing.isEmpty || !unexpected.isEmpty {
                var parts: [String] = []
                if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
                if !unexpected.isEmpty { parts.append("unexpected \(unexpected.joined(separator: ", "))") }
                throw TorchError("state dict does not fit the model: " + parts.joined(separator: "; "))
            }
        }
        for (name, tensor) in own {
            guard let value = state[name] else { continue }
            guard value.shape == tensor.shape else {
                throw TorchError("state dict entry '\(name)' has shape \(value.shape), the model expects \(tensor.shape)")
            }
            try noGrad { try tensor.copyInPlace(from: value.dtype == tensor.dtype ? value : value.to(tensor.dtype)) }
        }
    }

    /// Switches this module and its children to training or evaluation behaviour.
    public func train(_ training: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = training }
    }

    public func eval() { train(false) }

    /// Clears every parameter's accumulated gradient.
    public func zeroGrad() throws {
        for p in parameters { try p.setGrad(nil) }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Hooks attached anywhere in this model in the calling task's scope (0 outside `withHooks`).
    public var attachedHookCount: Int { namedModules().reduce(0) { $0 + $1.module.hooks.count } }
}
