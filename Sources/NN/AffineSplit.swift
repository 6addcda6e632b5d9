import Torch

/// A model read as `rest(front(x))`, where `front` is its first layer and affine in x:
/// a convolution or linear layer, with a following eval-mode batch norm folded in.
///
/// Methods that average input gradients use it: ∇ₓ rest(front(x)) = Aᵀ ∇ rest, and Aᵀ
/// commutes with the average, so the first layer's backward pass (the most expensive one
/// per value for an RGB convolution) runs once per input instead of once per path point
/// or noisy copy; and along a straight path front(x′ + α(x − x′)) interpolates front(x′)
/// and front(x).
public struct AffineSplit {
    public let front: (Tensor) throws -> Tensor
    public let rest: (Tensor) throws -> Tensor

    /// Below this many multiply-adds per output value a first convolution is cheaper to recompute
    /// than its output is to carry (a ResNet stem has 147: 7×7 over 3 channels; ResNet-18 IG runs
    /// 5–10% faster with the split, the demo CNN's first layer, 9, 20% slower).
    public static let leastWorkPerValue = 32

    public init(front: @escaping (Tensor) throws -> Tensor, rest: @escaping (Tensor) throws -> Tensor) {
        self.front = front
        self.rest = rest
    }

    /// Aᵀ·g: the gradient of ⟨front(x), g⟩ with respect to x, which does not depend on x.
    public func frontTransposed(_ g: Tensor, inputsLike x: Tensor) throws -> Tensor {
        try withGrad {
            let input = try x.detached().requiringGrad()
            return try Tensor.grad(of: front(input), wrt: input, gradOutput: g)
        }
    }
}
