import Foundation
import Testing
import TestSupport
@testable import DictionaryLearning
import NN
import Torch

/// Data-parallel training over a real c10d Gloo group (two ranks on loopback TCP, as threads of
/// this process), against one process on the same global batches.
@Suite("Data-parallel autoencoder training")
struct DataParallelTrainingTests {
    /// Training batch c of a run split over `ranks` is rows [c·B + rank·b, c·B + (rank + 1)·b)
    /// (mod N) of one stream, b = B / ranks; other sizes (the median and resampling draws) get
    /// the first rows. So two ranks together see exactly one process's batches.
    final class StreamBatches: ActivationBatches {
        let rows: Tensor, rank: Int, ranks: Int, local: Int
        var calls = 0
        var dimension: Int { rows.shape[1] }

        init(_ rows: Tensor, rank: Int, ranks: Int, batchSize: Int) {
            (self.rows, self.rank, self.ranks, local) = (rows, rank, ranks, batchSize / ranks)
        }

        func batch(_ size: Int, generator: Generator) throws -> Tensor {
            guard size == local else { return try rows.slice(dim: 0, start: 0, end: size) }
            let start = calls * local * ranks + rank * local
            calls += 1
            let index = (start..<(start + local)).map { Int64($0 % rows.shape[0]) }
            return try rows.indexSelect(dim: 0, index: Tensor(index, shape: [local]))
        }
    }

    static func trainer() -> SparseAutoencoderTrainer {
        var t = SparseAutoencoderTrainer()
        (t.steps, t.batchSize, t.warmupSteps, t.learningRate, t.l1Coefficient) = (60, 64, 10, 3e-3, 0.3)
        (t.resampleAt, t.deadWindow, t.resampleInputs, t.medianInputs) = ([30], 10, 256, 100)
        return t
    }

    static func train(ranks: Int, rank: Int, rows: Tensor, group: ProcessGroup?) throws -> (weights: [[Float]], resampled: Int) {
        let sae = try SparseAutoencoder(.init(inputs: 16, features: 48), generator: Generator(seed: 3))
        // Eight features that cannot fire, so resampling has work at step 30.
        let bias = try Tensor((0..<48).map { Float($0 < 8 ? -100 : 0) }, shape: [48])
        try noGrad { try sae.encoderBias.copyInPlace(from: bias) }
        let reports = try trainer().train(sae, on: StreamBatches(rows, rank: rank, ranks: ranks, batchSize: 64), reportEvery: 20, group: group)
        let weights = try [sae.encoderWeight, sae.encoderBias, sae.decoderWeight, sae.decoderBias].map { try $0.scalars(as: Float.self) }
        return (weights, reports.map(\.resampled).reduce(0, +))
    }

    @Test("two ranks end with one process's weights on the same global batches, resampling included; both ranks hold the same values")
    func twoRanksMatchOneProcess() throws {
        // Sparse non-negative codes of a random dictionary.
        let generator = Generator(seed: 11)
        let codes = try Tensor.rand([512, 24], generator: generator).gt(0.85).to(.float32) * Tensor.rand([512, 24], generator: generator)
        let rows = try codes.matmul(Tensor.randn([24, 16], generator: generator))
        let single = try Self.train(ranks: 1, rank: 0, rows: rows, group: nil)
        #expect(single.resampled > 0, "the settings must make resampling happen for the test to cover it")
        let port = try freePort()
        let results = try Torch.concurrentMap(2, workers: 2) { rank in
            let group = try ProcessGroup(address: "127.0.0.1", port: port, rank: rank, worldSize: 2, timeout: 60)
            return try Self.train(ranks: 2, rank: rank, rows: rows, group: group)
        }
        #expect(results.map(\.resampled) == [single.resampled, single.resampled])
        #expect(results[0].weights == results[1].weights)
        // Each rank's gradient is a mean over half the rows: the average of the two halves
        // differs from the whole batch's mean by float32 rounding, which 60 Adam steps carry into
        // the weights at the 1e-7 level (3e-7 at most here); ranks that skip the all-reduce end
        // 0.03–0.7 away. (Adam is blind to the gradient's scale, so this cannot see the division.)
        for (ours, theirs) in zip(results[0].weights, single.weights) {
            let difference = zip(ours, theirs).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-5, "largest weight difference \(difference)")
        }
    }

    @Test("a rank whose peer never joins, a batch that does not split and bad group settings fail with what to do")
    func failures() throws {
        let port = try freePort()
        let lonely = errorMessage { _ = try ProcessGroup(address: "127.0.0.1", port: port, rank: 0, worldSize: 2, timeout: 1) }
        #expect(lonely?.contains("rank 0 of 2 could not join the group at 127.0.0.1:\(port) within 1 s") == true, "\(lonely ?? "no error")")
        #expect(errorMessage { _ = try ProcessGroup(address: "127.0.0.1", port: port, rank: 2, worldSize: 2) }?.contains("0 ≤ rank < world size") == true)
        #expect(errorMessage { _ = try ProcessGroup(environment: ["MASTER_ADDR": "127.0.0.1"]) }?.contains("MASTER_PORT is not set") == true)
        #expect(errorMessage { _ = try ProcessGroup(environment: ["MASTER_ADDR": "a", "MASTER_PORT": "x", "RANK": "0", "WORLD_SIZE": "1"]) }?
            .contains("MASTER_PORT must be a whole number, got 'x'") == true)
        let unevenPort = try freePort()
        let uneven = errorMessage {
            _ = try Torch.concurrentMap(2, workers: 2) { rank in
                var t = Self.trainer()
                t.batchSize = 63
                let group = try ProcessGroup(address: "127.0.0.1", port: unevenPort, rank: rank, worldSize: 2, timeout: 60)
                _ = try t.train(SparseAutoencoder(.init(inputs: 16, features: 32)), on: ActivationMatrix(Tensor.randn([100, 16])), group: group)
            }
        }
        #expect(uneven?.contains("a batch of 63 does not split evenly over 2 ranks") == true, "\(uneven ?? "no error")")
    }
}
