import Torch

/// An identity layer whose only job is to be a named hook point inside a block (TransformerLens's
/// `HookPoint`): `hook_q`, `hook_pattern`, `hook_resid_post`, …
public final class HookPoint: Module {
    public override init() {}

    public override func forward(_ x: Tensor) throws -> Tensor { x }
}

/// Submodules named "0", "1", … (PyTorch's `nn.ModuleList`), run by their owner.
public final class ModuleList: Module {
    public let modules: [Module]

    public init(_ modules: [Module]) {
        self.modules = modules
    }

    public override var children: [(name: String, module: Module)] {
        modules.enumerated().map { (String($0.offset), $0.element) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        throw TorchError("a module list is run by its owner, not called")
    }
}
