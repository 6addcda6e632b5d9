import NN
import Torch

/// Activations at a hook point and the gradients of the target outputs with respect to them,
/// in chunks of `batchSize` rows (one forward and one backward call each).
package func layerActivationsAndGradients(_ module: Module, _ inputs: Tensor, targets: Tensor, hookPoint: String,
                                  batchSize: Int? = nil) throws -> (activations: Tensor, gradients: Tensor) {
    let n = inputs.shape[0]
    let chunk = max(1, batchSize ?? n)
    var activations: [Tensor] = [], gradients: [Tensor] = []
    for start in stride(from: 0, to: n, by: chunk) {
        let end = min(n, start + chunk)
        var captured: Tensor?
        let rows = try inputs.slice(dim: 0, start: start, end: end).detached()
        let x = rows.dtype.isFloatingPoint ? try rows.requiringGrad() : rows
        let outputs = try withGrad {
            try module.withHooks([(hookPoint, { activation, _ in captured = activation; return nil })]) { try module(x) }
        }
        guard let activation = captured else { throw TorchError("hook point '\(hookPoint)' was not reached in the forward pass") }
        let selected = try selectTargets(outputs, targets.slice(dim: 0, start: start, end: end))
        gradients.append(try Tensor.grad(of: selected.sum(), wrt: activation))
        activations.append(try activation.detached())
    }
    return (try Tensor.cat(activations), try Tensor.cat(gradients))
}

/// The activation at a hook point, without gradients (the forward pass stops there).
package func layerActivations(_ module: Module, _ inputs: Tensor, hookPoint: String) throws -> Tensor {
    try noGrad { try module.activations(at: [hookPoint], for: inputs)[0] }
}
