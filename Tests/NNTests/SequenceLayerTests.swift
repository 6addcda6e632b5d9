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
