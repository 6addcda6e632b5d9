import NN
import Torch

/// A linear classifier on a BERT encoder's sentence embeddings (the MiniLM probe) as one
/// network, so hooks, gradients and attributions reach through the encoder: logits = W·e + b,
/// e the mean-pooled, unit-length embedding. The encoder's hook points are under `bert.`
/// (`bert.encoder.layer.0.attention.self.hook_pattern`, `bert.embeddings.word_embeddings`).
/// Inference only.
public final class SentenceProbeClassifier: Module {
    public let encoder: BERT
    let weights: Tensor, bias: Tensor

    /// weights (classes, hidden), bias (classes), in any float dtype.
    public init(encoder: BERT, weights: Tensor, bias: Tensor) throws {
        guard weights.rank == 2, weights.shape[1] == encoder.configuration.hiddenSize, bias.rank == 1, bias.count == weights.shape[0] else {
            throw TorchError("the probe's weights \(weights.shape) and bias \(bias.shape) do not fit a \(encoder.configuration.hiddenSize)-wide encoder")
        }
        self.encoder = encoder
        self.weights = try weights.to(.float32)
        self.bias = try bias.to(.float32)
        super.init()
        assignPaths()
        eval()
    }

    public override var children: [(name: String, module: Module)] { [("bert", encoder)] }

    public override func forward(_ ids: Tensor) throws -> Tensor {
        try encoder.sentenceEmbeddings(ids).matmul(weights.t()) + bias
    }

    /// Each layer's attention pattern hook point, first to last.
    public var patternHookPoints: [String] {
        (0..<encoder.configuration.layers).map { "bert.encoder.layer.\($0).attention.self.hook_pattern" }
    }
}
