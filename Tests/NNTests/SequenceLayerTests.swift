import Foundation
import Testing
import TestSupport
@testable import NN
import Torch

/// Against torch.nn.LSTM (tools/make_sequence_fixtures.py): the same fused libtorch kernel, so
/// outputs and gradients agree to float32 rounding: 1e-5.
@Suite("Sequence layers against PyTorch")
struct SequenceLayerTests {
    @Test("a 2-layer bidirectional LSTM: outputs, states and gradients, full length and packed with padding", arguments: ["full", "packed"])
    func lstm(_ kind: String) throws {
        let f = try Fixture.tensors("sequence_layers.safetensors")
        let model = try LSTM(5, hiddenSize: 4, layers: 2, bidirectional: true)
        try model.loadStateDict(Dictionary(uniqueKeysWithValues: f.filter { $0.key.hasPrefix("lstm.weight") || $0.key.hasPrefix("lstm.bias") }
            .map { (String($0.key.dropFirst(5)), $0.value) }))
        let x = try f["lstm.input"]!.requiringGrad()
        let (output, hidden, cell) = try withGrad { try model.run(x, lengths: kind == "packed" ? f["lstm.lengths"]! : nil) }
        #expect(try maxDifference(output, f["lstm.\(kind).output"]!) < 1e-5)
        #expect(try maxDifference(hidden, f["lstm.\(kind).hidden"]!) < 1e-5)
        #expect(try maxDifference(cell, f["lstm.\(kind).cell"]!) < 1e-5)
        let loss = try (output * f["lstm.r1"]!).sum() + (hidden * f["lstm.r2"]!).sum()
        let parameters = model.namedParameters()
        let gradients = try Tensor.grad(of: [loss], wrt: [x] + parameters.map(\.tensor))
        #expect(try maxDifference(gradients[0]!, f["lstm.\(kind).grad.input"]!) < 1e-5)
        for (index, parameter) in parameters.enumerated() {
            #expect(try maxDifference(gradients[index + 1]!, f["lstm.\(kind).grad.\(parameter.name)"]!) < 1e-5, "\(parameter.name)")
        }
    }

    @Test("LSTM inputs and lengths are checked")
    func lstmErrors() throws {
        let model = try LSTM(5, hiddenSize: 4)
        #expect(errorMessage { _ = try model(Tensor.zeros([2, 3, 4])) }?.contains("(batch, time, 5)") == true)
        #expect(errorMessage { _ = try model.run(Tensor.zeros([2, 3, 5]), lengths: Tensor([4, 1], shape: [2])) }?.contains("between 1 and the number of time steps") == true)
        #expect(try model(Tensor.zeros([2, 3, 5])).shape == [2, 3, 4])
    }
}

@Suite("Attention layers against PyTorch")
struct AttentionLayerTests {
    static func parameters(_ f: [String: Tensor], _ prefix: String) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: f.filter { $0.key.hasPrefix(prefix) && !$0.key.hasSuffix(".output") && !$0.key.hasSuffix(".grad") }
            .map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }

    @Test("multi-head self-attention with a padding mask and with a causal mask", arguments: ["padding", "causal"])
    func multiheadAttention(_ kind: String) throws {
        let f = try Fixture.tensors("sequence_layers.safetensors")
        let model = try MultiheadSelfAttention(width: 8, heads: 2)
        try model.loadStateDict(Self.parameters(f, "mha."))
        let x = try f["attention.input"]!.requiringGrad()
        let y = try withGrad { try model.run(x, padding: kind == "padding" ? f["attention.keep"]! : nil, causal: kind == "causal") }
        #expect(try maxDifference(y, f["mha.\(kind).output"]!) < 1e-5)
        let gradient = try Tensor.grad(of: (y * f["attention.r"]!).sum(), wrt: x)
        #expect(try maxDifference(gradient, f["mha.\(kind).grad"]!) < 1e-5)
    }

    @Test("transformer blocks: post-LayerNorm with ReLU and pre-LayerNorm with GELU, padded", arguments: ["post_relu", "pre_gelu"])
    func transformerBlock(_ kind: String) throws {
        let f = try Fixture.tensors("sequence_layers.safetensors")
        let block = try TransformerBlock(width: 8, heads: 2, mlpWidth: 16, activation: kind == "pre_gelu" ? .gelu : .relu, preLayerNorm: kind == "pre_gelu")
        block.assignPaths()
        try block.loadStateDict(Self.parameters(f, "block.\(kind)."))
        let x = try f["attention.input"]!.requiringGrad()
        let y = try withGrad { try block.run(x, padding: f["attention.keep"]!, causal: false) }
        #expect(try maxDifference(y, f["block.\(kind).output"]!) < 1e-5)
        #expect(try maxDifference(Tensor.grad(of: (y * f["attention.r"]!).sum(), wrt: x), f["block.\(kind).grad"]!) < 1e-5)
        let (_, cache) = try block.runWithCache(f["attention.input"]!, names: { $0.hasSuffix("hook_pattern") || $0 == "hook_mlp_post" })
        #expect(cache["self_attn.hook_pattern"]?.shape == [3, 2, 5, 5] && cache["hook_mlp_post"]?.shape == [3, 5, 16])
    }

    @Test("additive attention pooling gives padded steps no weight")
    func additiveAttention() throws {
        let f = try Fixture.tensors("sequence_layers.safetensors")
        let pooling = try AdditiveAttention(8, attentionSize: 6)
        try pooling.loadStateDict(Self.parameters(f, "additive.").filter { !$0.key.hasPrefix("weights") && !$0.key.hasPrefix("context") })
        let (context, weights) = try pooling.run(f["attention.input"]!, padding: f["attention.keep"]!)
        #expect(try maxDifference(weights, f["additive.weights"]!) < 1e-6)
        #expect(try maxDifference(context, f["additive.context"]!) < 1e-5)
        #expect(try weights[2].slice(dim: 0, start: 2, end: 5).abs().max().item() == 0)
    }

    @Test("a SoLU block normalises its MLP, and sinusoidal positions follow the formula")
    func soluAndPositions() throws {
        let block = try TransformerBlock(width: 8, heads: 2, mlpWidth: 16, activation: .solu, generator: Generator(seed: 1))
        block.assignPaths()
        #expect(block.namedParameters().map(\.name).contains("ln_mlp.weight"))
        let (_, cache) = try block.runWithCache(Tensor.randn([2, 4, 8], generator: Generator(seed: 2)), names: { $0 == "hook_mlp_post" })
        let post = cache["hook_mlp_post"]!
        #expect(try post.mean(dims: [2]).abs().max().item() < 1e-5)
        let positions = try sinusoidalPositions(length: 6, width: 5)
        #expect(positions.shape == [6, 5])
        #expect(try Swift.abs(positions[3][2].item() - Foundation.sin(3 / Foundation.pow(10000, 2.0 / 5))) < 1e-5)
        #expect(try Swift.abs(positions[3][3].item() - Foundation.cos(3 / Foundation.pow(10000, 2.0 / 5))) < 1e-5)
    }
}
