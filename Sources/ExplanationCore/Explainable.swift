import NN
import Torch

/// A model an attribution method can explain: a batch in, a batch of outputs out, (N, classes)
/// or, for sequence models, (N, positions, classes).
///
/// Native `NN.Module`s support every method. TorchScript models and plain
/// functions support the input-gradient and perturbation methods; methods that
/// need hook points (layer and neuron variants, Grad-CAM) or ReLU modules
/// (Guided Backprop, DeconvNet) say so when given one.
public protocol Explainable {
    func callAsFunction(_ x: Tensor) throws -> Tensor
    /// The native module, when there is one.
    var module: Module? { get }
}

extension Module: Explainable {
    public var module: Module? { self }
}

extension ScriptModule: Explainable {
    public var module: Module? { nil }
}

/// Any function from a batch to a batch of outputs.
public struct ForwardFunction: Explainable {
    let body: (Tensor) throws -> Tensor

    public init(_ body: @escaping (Tensor) throws -> Tensor) {
        self.body = body
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try body(x) }
    public var module: Module? { nil }
}

extension Explainable {
    /// The native module, or an error naming the method that needs one.
    package func requireModule(for method: String) throws -> Module {
        guard let module else {
            throw TorchError("\(method) needs a native Glassbox model (it uses hook points or ReLU modules); this model is TorchScript or a function")
        }
        return module
    }
}
