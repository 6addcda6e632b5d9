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
        let pass = { (rows: Tensor) in
            if front != nil, let passes = try self.sequentialForward(model, rows) { return passes }
            let (leaf, output) = try self.forward(model, rows, cutAt: cut)
            return try BackwardPasses(leaf: leaf, output: output)
        }
        var backward = try pass(rows)
        let dIn = (front != nil ? rows.count : backward.leaf.count) / n, dOut = backward.outputs
        // Under 64 inputs: each pass runs `replicas` copies of them, copy i giving row start + i.
        let replicas = n >= 64 ? 1 : max(1, min(dOut, batchSize / n))
        if replicas > 1 { backward = try pass(rows.repeated([replicas] + Array(repeating: 1, count: rows.rank - 1))) }
        var blocks: [Tensor] = []
        for start in stride(from: 0, to: dOut, by: replicas) {
            let count = min(replicas, dOut - start)
            var direction = try backward.directions(start, count, n)
            if count < replicas { direction = try Tensor.cat([direction, Tensor.zeros([replicas - count] + Array(direction.shape.dropFirst()), dtype: direction.dtype)]) }
            guard let gradient = try Tensor.grad(of: [backward.start], wrt: [backward.leaf], gradOutputs: [direction.reshaped(backward.start.shape)],
                                                 retainGraph: start + replicas < dOut, allowUnused: true)[0] else {
                throw TorchError("'\(to)' does not depend on '\(from)': is '\(from)' after '\(to)' in the forward pass?")
            }
            let atInput = try front?.inputGradients(gradient) ?? gradient
            blocks.append(try atInput.reshaped([replicas, n, dIn]).slice(dim: 0, start: 0, end: count))
        }
        return try Tensor.cat(blocks).permuted([1, 0, 2]).contiguous()
    }

    /// Where the backward passes start, and the gradient each starts from.
    struct BackwardPasses {
        /// The leaf the gradients are taken with respect to.
        let leaf: Tensor
        /// The tensor the backward passes start from (the output, or the input of its last linear layer).
        let start: Tensor
        /// The output's dimension per input: one backward pass per output dimension.
        let outputs: Int
        /// The gradients at `start` for outputs start..<start+count of n inputs: (count, n, …).
        let directions: (_ start: Int, _ count: Int, _ n: Int) throws -> Tensor
    }

    /// The forward pass of a Sequential model from its first layer's output (the leaf) to `to`, a
    /// layer of its own or its output. Two shortcuts, each giving the same gradients:
    /// - Every ReLU that a max pool follows runs after the pool instead. Max pooling commutes
    ///   with ReLU (both are monotone), tie-breaking included (a window whose maximum is not
    ///   positive gives a zero gradient either way); the ReLU's mask then covers a quarter of the
    ///   values, in the forward pass and in every backward pass.
    /// - When the chain ends in a linear layer (and a ReLU), the backward passes start at that
    ///   layer's input, from its weight rows masked by the ReLU, instead of multiplying one-hot
    ///   rows by the weight in every pass.
    /// Together about 35% less time for the demo CNN's input → hidden-layer Jacobians. Nil when
    /// `to` is not a layer of the Sequential itself.
    func sequentialForward(_ model: Explainable, _ rows: Tensor) throws -> BackwardPasses? {
        guard let sequential = model.module as? Sequential,
              let end = to == Self.modelOutput ? sequential.layers.count : sequential.layers.firstIndex(where: { $0.path == to }).map({ $0 + 1 })
        else { return nil }
        var layers = Array(sequential.layers[1..<end])
        for index in layers.indices.dropLast() where layers[index] is ReLU && layers[index + 1] is MaxPool2d {
            layers.swapAt(index, index + 1)
        }
        let masked = layers.count > 2 && layers.last is ReLU && layers[layers.count - 2] is Linear
        let linear = layers.count > (masked ? 2 : 1) ? layers.dropLast(masked ? 1 : 0).last as? Linear : nil
        if linear != nil { layers.removeLast(masked ? 2 : 1) }
        let leaf = try noGrad { try sequential.layers[0](rows) }.requiringGrad()
        let output = try GradientOrder.firstOrder { try withGrad { try sequential.run(layers[...], leaf) } }
        guard let linear else { return try BackwardPasses(leaf: leaf, output: output) }
        let weight = try linear.weight.detached()
        // mask[o, n]: whether output o of input n is past the ReLU (all ones without one).
        let mask = try masked ? noGrad { try linear(output).gt(0).to(weight.dtype).transposed(0, 1) } : nil
        return BackwardPasses(leaf: leaf, start: output, outputs: weight.shape[0]) { start, count, n in
            let rows = try weight.slice(dim: 0, start: start, end: start + count).unsqueezed(dim: 1)
            let expanded = try rows.expanded(to: [count, n, weight.shape[1]])
            guard let mask else { return expanded }
            return try expanded * mask.slice(dim: 0, start: start, end: start + count).slice(dim: 1, start: 0, end: n).unsqueezed(dim: 2)
        }
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

extension LayerJacobian.BackwardPasses {
    /// Backward passes from the output itself, one one-hot row per output dimension.
    init(leaf: Tensor, output: Tensor) throws {
        let outputs = output.count / max(1, output.shape.first ?? 1)
        let identity = try Tensor.eye(outputs, dtype: output.dtype)
        self.init(leaf: leaf, start: output, outputs: outputs) { start, count, n in
            try identity.slice(dim: 0, start: start, end: start + count).unsqueezed(dim: 1).expanded(to: [count, n, outputs])
        }
    }
}
