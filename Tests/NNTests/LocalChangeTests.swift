import Testing
import TestSupport
@testable import NN
import Torch

@Suite("Receptive-field-limited recomputation of local changes")
struct LocalChangeTests {
    /// Copies of `image` with a `size` square replaced by noise at each of `corners`, as a local
    /// change and as whole maps.
    func patches(of image: Tensor, size: Int, at corners: [(Int, Int)], seed: UInt64) throws -> (LocalChange, Tensor) {
        let p = corners.count, channels = image.shape[1]
        let noise = try Tensor.randn([p, channels, size, size], generator: Generator(seed: seed))
        let change = try LocalChange(base: image, values: noise, rows: .init(starts: corners.map(\.0), length: size),
                                     columns: .init(starts: corners.map(\.1), length: size))
        return (change, try change.materialized())
    }

    @Test("materializing a change puts each copy's values in its rectangle and leaves the rest of the map alone")
    func materializedCopies() throws {
        let image = try Tensor.arange(0, 2 * 5 * 6, dtype: .float32).reshaped([1, 2, 5, 6])
        let (change, whole) = try patches(of: image, size: 2, at: [(0, 0), (3, 4), (1, 2)], seed: 1)
        #expect(whole.shape == [3, 2, 5, 6])
        for (copy, (row, column)) in [(0, 0), (3, 4), (1, 2)].enumerated() {
            let inside = try whole.select(dim: 0, index: copy).slice(dim: 1, start: row, end: row + 2).slice(dim: 2, start: column, end: column + 2)
            #expect(try maxDifference(inside, change.values.select(dim: 0, index: copy)) == 0)
            let mask = try Tensor.ones([1, 2, 5, 6])
            try mask.slice(dim: 2, start: row, end: row + 2).slice(dim: 3, start: column, end: column + 2).fillInPlace(0)
            #expect(try maxDifference(whole.select(dim: 0, index: copy) * mask.squeezed(dim: 0), image.squeezed(dim: 0) * mask.squeezed(dim: 0)) == 0)
        }
    }

    @Test("the outputs a window op reaches: a worked example for a 3×3 stride-2 convolution with padding 1")
    func reachedSpans() {
        // Input rows 4…7 of 16 feed outputs o with 2o − 1 + {0, 1, 2} ∩ {4…7} ≠ ∅: o = 2…4 (of 8).
        let (span, size) = LocalChange.Span(starts: [4, 13, 0], length: 4).reached(inputSize: 16, kernel: 3, stride: 2, padding: 1)
        #expect(size == 8)
        // Rows 13…16 feed o = 7 only and rows 0…3 feed o = 0…2; one common length of 3, shifted inside the map.
        #expect(span == .init(starts: [2, 5, 0], length: 3))
    }

    /// The demo CNN's architecture computed in float64 by hand, the reference for rounding.
    func cnnInFloat64(_ model: Sequential, _ x: Tensor) throws -> Tensor {
        func double(_ t: Tensor?) throws -> Tensor? { try t?.to(.float64) }
        let (c1, c2) = (model.layers[0] as! Conv2d, model.layers[3] as! Conv2d)
        let (l1, l2) = (model.layers[8] as! Linear, model.layers[10] as! Linear)
        var y = try Functional.conv2d(x.to(.float64), weight: double(c1.weight)!, bias: double(c1.bias), padding: (1, 1)).relu()
        y = try Functional.maxPool2d(y, kernelSize: (2, 2))
        y = try Functional.maxPool2d(Functional.conv2d(y, weight: double(c2.weight)!, bias: double(c2.bias), padding: (1, 1)).relu(), kernelSize: (2, 2))
        y = try Functional.linear(y.flattened(from: 1), weight: double(l1.weight)!, bias: double(l1.bias)).relu()
        return try Functional.linear(y, weight: double(l2.weight)!, bias: double(l2.bias))
    }

    @Test("the demo CNN gives the whole batch's logits from a local change, as close to float64 as the whole batch is")
    func cnnMatchesWholeMaps() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 2))
        model.eval()
        let image = try Tensor.rand([1, 1, 28, 28], generator: Generator(seed: 3))
        let (change, whole) = try patches(of: image, size: 4, at: [(0, 0), (12, 6), (24, 24), (0, 20)], seed: 4)
        let local = try #require(try noGrad { try model.outputs(locally: change) })
        let expected = try noGrad { try model(whole) }
        let reference = try cnnInFloat64(model, whole)
        let scale = try reference.abs().max().item()
        // Both float32 results differ from float64 by rounding only (~1e-7 of the logits' scale);
        // a wrong window or a misplaced copy would be off by the size of the logits.
        #expect(try maxDifference(local.to(.float64), reference) < 1e-5 * scale)
        #expect(try maxDifference(local, expected) < 1e-5 * scale)
    }

    /// A ResNet-18 with batch-norm statistics that are not the identity (see ResNetPlanTests).
    func resNet() throws -> ResNet18 {
        try ResNetPlanTests().resNet(seed: 5)
    }

    @Test("a ResNet-18 gives the whole batch's logits from local changes: small ones that hand over late, large ones at once, on libtorch and on a plan")
    func resNetMatchesWholeMaps() throws {
        let model = try resNet()
        let image = try Tensor.randn([1, 3, 96, 80], generator: Generator(seed: 6))
        for (size, corners) in [(8, [(0, 0), (40, 36), (88, 72)]), (40, [(10, 20), (56, 0)])] {
            let (change, whole) = try patches(of: image, size: size, at: corners, seed: 7)
            // Gradients on keep every step on libtorch's direct convolutions (no plan): rounding only.
            let expected = try model(whole).detached()
            let scale = try expected.abs().max().item()
            let local = try #require(try model.outputs(locally: change)).detached()
            #expect(try maxDifference(local, expected) < 1e-5 * scale)
            // Without gradients the whole-map part runs on a plan (Winograd: a few 1e-6 relative).
            let planned = try #require(try noGrad { try model.outputs(locally: change) })
            #expect(try maxDifference(planned, expected) < 1e-4 * scale)
        }
    }

    @Test("a ResNet-18's local windows on plans (padded by one, then cropped) give the whole batch's logits")
    func resNetWindowsOnPlans() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let model = try resNet()
        let image = try Tensor.randn([1, 3, 96, 80], generator: Generator(seed: 11))
        let (change, whole) = try patches(of: image, size: 8, at: [(0, 0), (40, 36), (88, 72), (20, 60)], seed: 12)
        let expected = try model(whole).detached()
        let local = try noGrad { try model.forward(locally: .local(change), windowPlans: model.windowPlans).materialized() }
        // Winograd's transforms: a few 1e-6 relative; a window cropped wrongly is off by the logits' size.
        #expect(try maxDifference(local, expected) < 1e-4 * expected.abs().max().item())
    }

    @Test("a ResNet-18 run from any block's input gives the whole network's logits (where local changes hand over)")
    func resNetFromEveryBlock() throws {
        let model = try resNet()
        let x = try Tensor.randn([2, 3, 64, 48], generator: Generator(seed: 10))
        let expected = try model(x).detached()
        let scale = try expected.abs().max().item()
        var y = try model.maxpool(model.bn1(model.conv1(x)).relu())
        for (index, block) in model.blocks.enumerated() {
            #expect(try maxDifference(model.run(y, from: .block(index)).detached(), expected) < 1e-5 * scale)
            y = try block(y)
        }
    }

    @Test("a model in training mode or with hooks refuses local changes")
    func refusals() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 8))
        let (change, _) = try patches(of: try Tensor.rand([1, 1, 28, 28]), size: 3, at: [(1, 1)], seed: 9)
        #expect(try model.outputs(locally: change) == nil)
        model.eval()
        let hooked = try model.withHooks([("3", { _, _ in nil })]) { try model.outputs(locally: change) }
        #expect(hooked == nil)
        #expect(throws: TorchError.self) {
            try LocalChange(base: Tensor.zeros([1, 1, 5, 5]), values: Tensor.zeros([1, 1, 3, 3]),
                            rows: .init(starts: [3], length: 3), columns: .init(starts: [0], length: 3))
        }
    }
}
