import Torch

/// A transformer block's MLP sublayer as a model of its own: the residual stream at one position,
/// `hook_resid_mid` (N, width), to `hook_resid_post` (N, width). The MLP never mixes positions, so
/// every token's state is an input of its own: per-token Jacobians through the MLP and changes of
/// basis at its neurons (seed 003's geometry) run on it as on any feed-forward network. The
/// block's hook points keep their names in the whole model (`blocks.0.hook_mlp_post`,
/// `blocks.0.linear2`); the block is shared, not copied, and not changed.
public final class MLPSublayer: Module {
    let block: TransformerBlock

    public init(_ block: TransformerBlock) {
        self.block = block
        super.init()
        isTraining = block.isTraining
    }

    public override var children: [(name: String, module: Module)] { [("block", block)] }

    /// The neurons' hook point and the linear layer that reads them, under the whole model's names.
    public var neuronHookPoint: String { block.mlpPost.path }
    public var readerPath: String { block.linear2.path }
    /// The hook points of this sublayer's input and of the MLP's output (before the residual sum) in the whole model.
    public var inputHookPoint: String { block.residMid.path }
    public var mlpOutputHookPoint: String { block.mlpOut.path }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == block.linear1.weight.shape[1] else {
            throw TorchError("the MLP sublayer takes residual-stream vectors (N, \(block.linear1.weight.shape[1])), got \(x.shape)")
        }
        return block.preLayerNorm ? try x + block.mlp(block.norm2(x)) : try block.norm2(x + block.mlp(x))
    }
}
