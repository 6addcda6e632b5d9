import ExplanationCore
import Foundation
import NN
import Torch

extension DeepImagePrior {
    public struct Inversion {
        /// (C, H, W) in [0, 1]: the network's output at the end.
        public var image: Tensor
        /// ‖φ(x) − φ(x₀)‖ / ‖φ(x₀)‖ at the end.
        public var relativeError: Double
        /// ‖x − x₀‖ / ‖x₀‖.
        public var imageError: Double
        /// The squared relative error every `every` steps (the first at step 0).
        public var losses: [Double]
    }

    /// Inversion with the deep image prior as the regulariser (Ulyanov et al. 2018, section 4):
    /// instead of optimising pixels under total variation (Mahendran & Vedaldi 2015), the
    /// hourglass network's weights are optimised so that its output's activation at `hookPoint`
    /// matches `image`'s, min_θ ‖φ(g_θ(z)) − φ(x₀)‖² / ‖φ(x₀)‖². The network's structure is the
    /// prior. The explained model only reads: gradients go to the network's weights alone.
    public func invert(_ image: Tensor, at hookPoint: String, of model: Explainable,
                       preprocess: ((Tensor) throws -> Tensor)? = nil) throws -> Inversion {
        guard steps >= 1, learningRate > 0, every >= 1 else { throw TorchError("the deep image prior needs steps ≥ 1, a positive learning rate and every ≥ 1") }
        let x0 = try RepresentationInversion.checkedImage(image)
        guard x0.shape[2] >= 2, x0.shape[3] >= 2 else { throw TorchError("the deep image prior needs an image of at least 2×2 pixels") }
        var probe = FeatureVisualization(model, objectives: try RepresentationInversion.matchObjectives(model, hookPoints: [hookPoint], image: x0, preprocess: preprocess))
        probe.preprocess = preprocess
        let (network, code) = try untrainedNetwork(imageShape: Array(x0.shape.dropFirst()))
        let parameters = network.parameters
        let adam = Adam(parameters, learningRate: learningRate)
        var losses: [Double] = []
        for step in 0...steps {
            // The match objective is −‖φ(x) − φ(x₀)‖² / ‖φ(x₀)‖².
            let loss = try withGrad { try -probe.evaluate(network(code)).values.sum() }
            if step % every == 0 || step == steps {
                losses.append(try loss.item())
                ProgressObserver.report("deep image prior inversion", done: step, of: steps, unit: "steps", status: String(format: "relative error %.4f", losses.last!.squareRoot()))
            }
            guard step < steps else { break }
            for (parameter, gradient) in zip(parameters, try Tensor.grad(of: [loss], wrt: parameters, allowUnused: true)) {
                try parameter.setGrad(gradient ?? parameter.zerosLike())
            }
            try adam.step()
        }
        let output = try noGrad { try network(code) }
        let error = try noGrad { try -probe.evaluate(output).values.sum().item() }
        return Inversion(image: try output[0], relativeError: max(error, 0).squareRoot(),
                         imageError: try ((output[0] - x0[0]).norm() / x0.norm().clamp(min: 1e-12)).item(), losses: losses)
    }
}
