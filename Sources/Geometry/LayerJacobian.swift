import ExplanationCore
import NN
import Torch

/// The Jacobian of one hook point's activation with respect to another's, per input:
/// J[n] = ∂ to(xₙ) / ∂ from(xₙ), shape (N, dOut, dIn) with both activations flattened.
///
/// Reverse mode: one forward pass per chunk of inputs (the activation at `from` is replaced by a
/// leaf that requires a gradient), then one backward pass per output dimension, each giving that
/// row of every input's Jacobian at once. The inputs are split between `Torch.threads` workers; a
/// worker with fewer than 64 inputs runs several copies of them in its forward pass (up to
/// `batchSize` rows), so that each backward pass gives one row per copy. Inputs must not
/// interact in the forward pass (a model in evaluation mode: no batch statistics), which is what
/// makes the batched rows per-input Jacobians.
public struct LayerJacobian {
    /// The names that stand for the model's input and output rather than hook points (a
    /// TorchScript model has only these two).
    public static let modelInput = "input", modelOutput = "output"

    public var from: String
    public var to: String
    /// Rows per forward pass: inputs, or copies of fewer inputs.
    public var batchSize = 256
    /// Hooks that change the network for this computation (a reparametrised layer, say),
    /// applied before the Jacobian's own.
    public var patches: [(hookPoint: String, hook: ActivationHook)] = []

    public init(from: String, to: String) {
        (self.from, self.to) = (from, to)
    }

    /// The Jacobians for every input row of `inputs`.
    public func callAsFunction(_ model: Explainable, inputs: Tensor) throws -> Tensor {
        let n = inputs.shape.first ?? 0
        guard n > 0 else { throw TorchError("the Jacobian needs at least one input") }
        let size = try dimensions(model, inputs: inputs.slice(dim: 0, start: 0, end: 1))
        let bytes = Double(n) * Double(size.input) * Double(size.output) * 4
        guard bytes < 8e9 else {
            throw TorchError(String(format: "the Jacobians of %d inputs from '%@' (%d values) to '%@' (%d values) would take %.0f GB; use fewer inputs", n, from, size.input, to, size.output, bytes / 1e9))
        }
        // As many chunks as threads at least: each worker runs its own forward pass and backward
        // passes on one thread (many small, memory-bound operations: two one-thread workers beat
        // one two-thread loop on 2 cores).
        let chunkSize = max(1, min(batchSize, (n + Torch.threads - 1) / Torch.threads))
        let starts = Array(stride(from: 0, to: n, by: chunkSize))
        let shared = UncheckedSendable((self, model, inputs))
        let chunks = try Torch.withSingleThreadedBLAS {
            try Torch.concurrentMap(starts.count, workers: Torch.threads) { index in
                let (jacobian, model, inputs) = shared.value
                let start = starts[index]
                return try jacobian.jacobians(model, inputs.slice(dim: 0, start: start, end: min(n, start + chunkSize)))
            }
        }
        return chunks.count == 1 ? chunks[0] : try Tensor.cat(chunks)
    }

    /// The flattened sizes of the activations at `from` and `to` for these inputs (one forward pass).
    public func dimensions(_ model: Explainable, inputs: Tensor) throws -> (input: Int, output: Int) {
        var sizes: [String: Int] = [:]
        let n = max(1, inputs.shape.first ?? 1)
        let hooks: [(hookPoint: String, hook: ActivationHook)] = [from, to].filter { !Self.ends.contains($0) }.map { name in
            (name, { activation, _ in sizes[name] = activation.count / n; return nil })
        }
        try checkHookPoints(in: model)
        let output = try noGrad { try run(model, inputs, hooks: hooks) }
        (sizes[Self.modelInput], sizes[Self.modelOutput]) = (inputs.count / n, output.count / n)
        guard let input = sizes[from], let output = sizes[to] else { throw TorchError("hook points '\(from)' and '\(to)' must both be reached in the forward pass") }
        return (input, output)
    }

    static let ends = [modelInput, modelOutput]

    func checkHookPoints(in model: Explainable) throws {
        guard to != Self.modelInput else { throw TorchError("the Jacobian's output side must be a hook point or \"output\", not the model input") }
        guard from != Self.modelOutput else { throw TorchError("the Jacobian's input side must be \"input\" or a hook point, not the model output") }
        guard from != to else { throw TorchError("the Jacobian needs two different hook points (both are '\(to)')") }
        guard let module = model.module else {
            guard from == Self.modelInput, to == Self.modelOutput else {
                throw TorchError("a TorchScript model has no hook points here: only --from input --to output")
            }
            return
        }
        guard !module.namedModules().contains(where: { $0.module.isTraining }) else {
            throw TorchError("the model is in training mode: dropout and batch statistics would mix inputs and randomise the Jacobians; call eval() first")
        }
        for name in [from, to] where !Self.ends.contains(name) && !module.hookPointNames.contains(name) {
            throw TorchError("no hook point '\(name)'; this model has: \(Self.modelInput), \(module.hookPointNames.prefix(40).joined(separator: ", ")), \(Self.modelOutput)")
        }
    }

    /// The model's output, with `hooks` attached when it is a native module.
    func run(_ model: Explainable, _ x: Tensor, hooks: [(hookPoint: String, hook: ActivationHook)]) throws -> Tensor {
        guard let module = model.module, !hooks.isEmpty else { return try model(x) }
        return try module.withHooks(hooks) { try model(x) }
    }

    func jacobians(_ model: Explainable, _ rows: Tensor) throws -> Tensor {
        let n = rows.shape[0]
        // From the input through a stride-1 first convolution: stop at its output, apply its transpose.
        let front = from == Self.modelInput && patches.isEmpty ? model.module.flatMap(ConvolutionTranspose.init(firstLayerOf:)) : nil
        let cut = front != nil ? (model.module as! Sequential).layers[0].path : from
        var pass = try forward(model, rows, cutAt: cut)
        let dIn = (front != nil ? rows.count : pass.leaf.count) / n, dOut = pass.output.count / n
        // Under 64 inputs: each pass runs `replicas` copies of them, copy i giving row start + i.
        let replicas = n >= 64 ? 1 : max(1, min(dOut, batchSize / n))
        if replicas > 1 { pass = try forward(model, rows.repeated([replicas] + Array(repeating: 1, count: rows.rank - 1)), cutAt: cut) }
        let identity = try Tensor.eye(dOut, dtype: pass.output.dtype)
        var blocks: [Tensor] = []
        for start in stride(from: 0, to: dOut, by: replicas) {
            let count = min(replicas, dOut - start)
            var selected = try identity.slice(dim: 0, start: start, end: start + count)
            if count < replicas { selected = try Tensor.cat([selected, Tensor.zeros([replicas - count, dOut], dtype: selected.dtype)]) }
            let direction = try selected.unsqueezed(dim: 1).expanded(to: [replicas, n, dOut]).reshaped(pass.output.shape)
            guard let gradient = try Tensor.grad(of: [pass.output], wrt: [pass.leaf], gradOutputs: [direction],
                                                 retainGraph: start + replicas < dOut, allowUnused: true)[0] else {
                throw TorchError("'\(to)' does not depend on '\(from)': is '\(from)' after '\(to)' in the forward pass?")
            }
            let atInput = try front?.inputGradients(gradient) ?? gradient
            blocks.append(try atInput.reshaped([replicas, n, dIn]).slice(dim: 0, start: 0, end: count))
        }
        return try Tensor.cat(blocks).permuted([1, 0, 2]).contiguous()
    }

    /// One forward pass with the activation at `cut` (the model input, or a hook point) as a leaf
    /// that requires a gradient.
    func forward(_ model: Explainable, _ rows: Tensor, cutAt cut: String) throws -> (leaf: Tensor, output: Tensor) {
        var leaf: Tensor?, output: Tensor?
        var hooks = patches
        if to != Self.modelOutput { hooks.append((hookPoint: to, hook: { activation, _ in output = activation; return nil })) }
        var x = try rows.detached()
        if cut == Self.modelInput {
            x = try x.requiringGrad()
            leaf = x
        } else {
            // The replacement is the activation itself, cut from what came before it.
            hooks.insert((cut, { activation, _ in
                let cut = try activation.detached().requiringGrad()
                leaf = cut
                return cut
            }), at: patches.count)
        }
        let y = try GradientOrder.firstOrder { try withGrad { try run(model, x, hooks: hooks) } }
        if to == Self.modelOutput { output = y }
        guard let leaf else { throw TorchError("hook point '\(cut)' was not reached in the forward pass") }
        guard let output else { throw TorchError("hook point '\(to)' was not reached in the forward pass") }
        guard output.requiresGrad else {
            throw TorchError("'\(to)' does not depend on '\(from)': is '\(from)' after '\(to)' in the forward pass?")
        }
        return (leaf, output)
    }
}

