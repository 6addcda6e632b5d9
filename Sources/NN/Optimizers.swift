import Foundation
import Torch

/// Updates parameters from their gradients; state can be saved and restored by name.
public protocol Optimizer: AnyObject {
    var learningRate: Double { get set }
    /// Applies one update using each parameter's `grad` (parameters without one are skipped).
    func step() throws
    /// Per-parameter state tensors by name, for checkpoints.
    func state() throws -> [String: Tensor]
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    func restore(_ slots: inout [Tensor?], named prefix: String, from state: [String: Tensor], shapes: [[Int]]) throws {
        for index in slots.indices {
            guard let saved = state["\(prefix).\(index)"] else { slots[index] = nil; continue }
            guard saved.shape == shapes[index] else {
                throw TorchError("optimizer state \(prefix).\(index) has shape \(saved.shape), parameter has \(shapes[index])")
            }
            slots[index] = try saved.clone()
        }
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay,
/// with the same update as `torch.optim.SGD`.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    let momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool
    var buffers: [Tensor?]

    public init(_ parameters: [Tensor], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() throws {
        try noGrad {
            for (index, p) in parameters.enumerated() {
                guard var d = p.grad else { continue }
                if weightDecay != 0 { d = try d + p * weightDecay }
                if momentum != 0 {
                    let buffer: Tensor
                    if let existing = buffers[index] {
                        try existing.multiplyInPlace(by: momentum)
                        try existing.addInPlace(d, alpha: 1 - dampening)
                        buffer = existing
                    } else {
                        buffer = try d.clone()
                        buffers[index] = buffer
                    }
                    d = nesterov ? try d + buffer * momentum : buffer
                }
                try p.addInPlace(d, alpha: -learningRate)
            }
        }
    }

    public func state() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (index, buffer) in buffers.enumerated() { if let buffer { result["momentum_buffer.\(index)"] = buffer } }
        return result
    }

    public func loadState(_ state: [String: Tensor]) throws {
        try restore(&buffers, named: "momentum_buffer", from: state, shapes: parameters.map(\.shape))
    }
}

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019, decoupled weight decay),
/// with the same update as `torch.optim.Adam` / `AdamW`.
public final class Adam: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    let beta1: Double, beta2: Double, eps: Double, weightDecay: Double, decoupled: Bool
    var firstMoments: [Tensor?], secondMoments: [Tensor?]
    var steps: [Int]

    public init(_ parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        beta1 = betas.0
        beta2 = betas.1
        self.eps = eps
        self.weightDecay = weightDecay
        decoupled = decoupledWeightDecay
        firstMoments = Array(repeating: nil, count: parameters.count)
        secondMoments = Array(repeating: nil, count: parameters.count)
        steps = Array(repeating: 0, count: parameters.count)
    }

    /// AdamW: weight decay applied to the weights directly, PyTorch's default 1e-2.
    public static func adamW(_ parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                             eps: Double = 1e-8, weightDecay: Double = 1e-2) -> Adam {
        Adam(parameters, learningRate: learningRate, betas: betas, eps: eps, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step() throws {
        try noGrad {
            for (index, p) in parameters.enumerated() {
                guard var g = p.grad else { continue }
                let m = try firstMoments[index] ?? p.zerosLike()
                let v = try secondMoments[index] ?? p.zerosLike()
                firstMoments[index] = m
                secondMoments[index] = v
                steps[index] += 1
                // One pass in C++ when the tensors allow it; the same arithmetic as the operations below.
                if try p.fusedAdamStep(gradient: g, firstMoment: m, secondMoment: v, learningRate: learningRate, betas: (beta1, beta2), eps: eps,
                                       weightDecay: weightDecay, decoupled: decoupled, step: steps[index]) { continue }
                if weightDecay != 0 {
                    if decoupled { try p.multiplyInPlace(by: 1 - learningRate * weightDecay) } else { g = try g + p * weightDecay }
                }
                try m.multiplyInPlace(by: beta1)
                try m.addInPlace(g, alpha: 1 - beta1)
                try v.multiplyInPlace(by: beta2)
                try v.addProductInPlace(g, g, value: 1 - beta2)
                let t = Double(steps[index])
                let correction1 = 1 - Foundation.pow(beta1, t)
                let correction2 = 1 - Foundation.pow(beta2, t)
                let denominator = try v.sqrt() / Foundation.sqrt(correction2) + eps
                try p.addQuotientInPlace(m, denominator, value: -learningRate / correction1)
            }
        }
    }

    /// Clears the moments of parameter `index` where `mask` (broadcast to its shape) is 0, as if
    /// those entries had never been updated (a resampled dictionary feature, say). The bias
    /// corrections keep the parameter's step count.
    public func resetMoments(parameterAt index: Int, keeping mask: Tensor) throws {
        guard parameters.indices.contains(index) else { throw TorchError("no parameter \(index); the optimiser has \(parameters.count)") }
        try noGrad {
            for case let moment? in [firstMoments[index], secondMoments[index]] { try moment.copyInPlace(from: moment * mask) }
        }
    }

    public func state() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for index in parameters.indices {
            if let m = firstMoments[index], let v = secondMoments[index] {
                result["exp_avg.\(index)"] = m
                result["exp_avg_sq.\(index)"] = v
                result["step.\(index)"] = try Tensor([Int64(steps[index])], shape: [])
            }
        }
        return result
    }

    public func loadState(_ state: [String: Tensor]) throws {
        let shapes = parameters.map(\.shape)
        try restore(&firstMoments, named: "exp_avg", from: state, shapes: shapes)
        try restore(&secondMoments, named: "exp_avg_sq", from: state, shapes: shapes)
        for index in parameters.indices { steps[index] = try state["step.\(index)"]?.itemInt() ?? 0 }
    }
}
