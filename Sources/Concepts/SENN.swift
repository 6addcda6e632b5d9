import NN
import Torch

/// A self-explaining neural network (Alvarez-Melis & Jaakkola 2018, "Towards Robust
/// Interpretability with Self-Explaining Neural Networks"):
/// f(x)_c = Σₖ θ(x)ₖ,c · h(x)ₖ — concepts h(x) weighted by input-dependent relevances θ(x),
/// summed per class. The relevances are the explanation; the robustness loss keeps them
/// faithful to the model's local behaviour.
public final class SENN: Module {
    /// h: (N, …) → (N, concepts).
    public let conceptizer: Module
    /// θ: (N, …) → (N, concepts · classes), read as (N, concepts, classes).
    public let parametrizer: Module
    public let concepts: Int
    public let classes: Int

    /// Everything one forward pass gives.
    public struct Output {
        public let logits: Tensor
        /// h(x): (N, concepts).
        public let concepts: Tensor
        /// θ(x): (N, concepts, classes).
        public let relevances: Tensor
    }

    public init(conceptizer: Module, parametrizer: Module, concepts: Int, classes: Int) {
        self.conceptizer = conceptizer
        self.parametrizer = parametrizer
        self.concepts = concepts
        self.classes = classes
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        [("conceptizer", conceptizer), ("parametrizer", parametrizer)]
    }

    public func explain(_ x: Tensor) throws -> Output {
        let h = try conceptizer(x)
        let n = x.shape[0]
        guard h.shape == [n, concepts] else {
            throw TorchError("the conceptizer returned \(h.shape), expected (\(n), \(concepts))")
        }
        let raw = try parametrizer(x)
        guard raw.shape == [n, concepts * classes] else {
            throw TorchError("the parametrizer returned \(raw.shape), expected (\(n), \(concepts * classes))")
        }
        let theta = try raw.reshaped([n, concepts, classes])
        let logits = try (theta * h.unsqueezed(dim: 2)).sum(dims: [1])
        return Output(logits: logits, concepts: h, relevances: theta)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try explain(x).logits
    }

    /// The robustness loss L_θ = ‖∇ₓf(x) − θ(x)ᵀ Jₓh(x)‖ (Frobenius over classes and input
    /// features, averaged over the batch). It is zero exactly when f behaves locally like a
    /// linear model in the concepts with coefficients θ(x). The gradients inside are built
    /// with `createGraph`, so the loss itself can be differentiated (double backprop).
    ///
    /// Exact (`directions` nil): one backward pass per concept and per class. With a
    /// generator, each example's residual matrix D = ∇ₓf − θᵀJₓh is projected on a random
    /// Gaussian class direction v, and the loss is the mean of ‖vᵀD‖: vᵀD is one
    /// vector-Jacobian product of (f, h) with cotangents (v, −θv), so a single backward pass
    /// replaces concepts + classes of them, and E‖vᵀD‖² = ‖D‖²_F (Hutchinson's estimator).
    public func robustnessLoss(_ x: Tensor, directions generator: Generator? = nil) throws -> Tensor {
        let input = try x.detached().requiringGrad()
        return try withGrad {
            let output = try explain(input)
            let n = input.shape[0]
            if let generator {
                let v = try Tensor.randn([n, classes], dtype: output.logits.dtype, generator: generator)
                let conceptDirection = try output.relevances.matmul(v.unsqueezed(dim: 2)).squeezed(dim: 2)
                guard let residual = try Tensor.grad(of: [output.logits, output.concepts], wrt: [input],
                                                     gradOutputs: [v, -conceptDirection], createGraph: true)[0] else {
                    throw TorchError("the model's output does not depend on its input")
                }
                return try residual.reshaped([n, -1]).norm(dims: [1]).mean()
            }
            func inputGradient(_ scalarPerExample: Tensor) throws -> Tensor {
                try Tensor.grad(of: scalarPerExample.sum(), wrt: input, createGraph: true).reshaped([n, -1])
            }
            let jacobian = try Tensor.stack((0..<concepts).map { try inputGradient(output.concepts.select(dim: 1, index: $0)) }, dim: 1)
            let modelGradient = try Tensor.stack((0..<classes).map { try inputGradient(output.logits.select(dim: 1, index: $0)) }, dim: 1)
            let predicted = try output.relevances.transposed(1, 2).matmul(jacobian)
            return try (modelGradient - predicted).reshaped([n, -1]).norm(dims: [1]).mean()
        }
    }
}

extension SENN {
    /// The relevance-Jacobian penalty ‖Jₓz(x)‖_F (averaged over the batch), z the relevances
    /// before the parametrizer's final tanh (θ itself without one): how fast the explanation
    /// moves with the input, which the local Lipschitz estimate of θ measures. An alternative to
    /// L_θ in the authors' released code ("grad2", there on θ and divided by ‖Jₓh‖); L_θ only
    /// constrains the h-weighted sum Σₖ hₖ∇θₖ, so θ may still vary fast along directions that
    /// sum cancels. Since |tanh′| ≤ 1, ‖Jₓθ‖ ≤ ‖Jₓz‖; penalising θ directly was minimised by
    /// saturating it at ±1 (θ collapsed to a constant as λ grew, and the gain varied by seed).
    ///
    /// Exact (`directions` nil): one backward pass per relevance (concepts × classes). With a
    /// generator, each example's Jacobian is projected on a random Gaussian direction v over
    /// the relevances — one vector-Jacobian product — and E‖vᵀJ‖² = ‖J‖²_F.
    public func relevanceJacobianPenalty(_ x: Tensor, directions generator: Generator? = nil) throws -> Tensor {
        let input = try x.detached().requiringGrad()
        return try withGrad {
            let n = input.shape[0]
            let theta = try relevancePreactivations(input)
            if let generator {
                let v = try Tensor.randn(theta.shape, dtype: theta.dtype, generator: generator)
                let projected = try Tensor.grad(of: (theta * v).sum(), wrt: input, createGraph: true)
                return try projected.reshaped([n, -1]).norm(dims: [1]).mean()
            }
            let flat = try theta.reshaped([n, -1])
            let rows = try (0..<flat.shape[1]).map {
                try Tensor.grad(of: flat.select(dim: 1, index: $0).sum(), wrt: input, createGraph: true).reshaped([n, -1])
            }
            return try Tensor.stack(rows, dim: 1).reshaped([n, -1]).norm(dims: [1]).mean()
        }
    }
}

extension SENN {
    /// θ(x) before a final tanh of the parametrizer, as (N, concepts · classes).
    func relevancePreactivations(_ x: Tensor) throws -> Tensor {
        if let sequential = parametrizer as? Sequential, let last = sequential.layers.last as? Activation, last.kind == .tanh {
            return try sequential.run(sequential.layers.dropLast(), x)
        }
        return try parametrizer(x)
    }
}

/// The identity conceptizer: the (flattened) input features are the concepts, so the
/// relevances are feature weights, as for tabular data.
public final class InputFeatures: Module {
    public override init() {}

    public override func forward(_ x: Tensor) throws -> Tensor {
        try x.flattened(from: 1)
    }
}
