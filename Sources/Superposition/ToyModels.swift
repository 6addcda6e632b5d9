import Foundation
import NN
import Torch

/// Toy models of superposition (Elhage et al. 2022, "Toy Models of Superposition"): n sparse
/// features squeezed into m < n hidden dimensions and read back, x̂ = ReLU(WᵀWx + b), or x̂ = WᵀWx + b
/// (the linear model), trained on an importance-weighted squared error.
///
/// Many instances train at once as one batched tensor program: every tensor has the instances as
/// its first dimension, each with its own feature importances, feature densities and output.
public final class ToyModels: Module {
    public let features: Int, hidden: Int, instances: Int
    /// (instances, features): each feature's weight in the loss, Iᵢ.
    public let importance: Tensor
    /// (instances, features): the probability that a feature is present, 1 − S.
    public let density: Tensor
    /// Whether each instance's output has the ReLU.
    public let reluOutput: [Bool]
    /// Whether each instance's hidden layer has a ReLU, h = ReLU(Wx): a privileged basis.
    public let hiddenReLU: [Bool]
    /// W (instances, hidden, features): column i is feature i's direction Wᵢ in the hidden space.
    public let weight: Tensor
    /// b (instances, features).
    public let bias: Tensor
    /// Where these instances start in the stream of sparse features (0 unless this model is a
    /// slice of a larger one's instances, drawing what they draw there).
    let firstInstance: Int

    /// W starts Xavier-normal (std √(2 / (m + n))), b at zero, as in the paper's code.
    public init(hidden: Int, importance: Tensor, density: Tensor, reluOutput: [Bool], hiddenReLU: [Bool]? = nil, generator: Generator) throws {
        guard importance.rank == 2, density.shape == importance.shape else {
            throw TorchError("importance and density must both be (instances, features), got \(importance.shape) and \(density.shape)")
        }
        (instances, features) = (importance.shape[0], importance.shape[1])
        guard hidden >= 1, instances >= 1, features >= 1 else { throw TorchError("toy models need at least one instance, feature and hidden dimension") }
        guard reluOutput.count == instances, (hiddenReLU?.count ?? instances) == instances else {
            throw TorchError("give the output and hidden layer of each of the \(instances) instances, got \(reluOutput.count) and \(hiddenReLU?.count ?? instances)")
        }
        let lowest = try density.min().item(), highest = try density.max().item()
        guard lowest >= 0, highest <= 1 else { throw TorchError("feature densities must lie in [0, 1], got \(lowest) … \(highest)") }
        self.hidden = hidden
        self.importance = try importance.to(.float32)
        self.density = try density.to(.float32)
        self.reluOutput = reluOutput
        self.hiddenReLU = hiddenReLU ?? Array(repeating: false, count: instances)
        weight = try (Tensor.randn([instances, hidden, features], generator: generator) * (2.0 / Double(hidden + features)).squareRoot()).requiringGrad()
        bias = try Tensor.zeros([instances, features]).requiringGrad()
        firstInstance = 0
    }

    /// Instances `range` of `model` as a model of their own, with copies of their parameters.
    init(instances range: Range<Int>, of model: ToyModels) throws {
        func rows(_ tensor: Tensor) throws -> Tensor { try tensor.detached().slice(dim: 0, start: range.lowerBound, end: range.upperBound).contiguous() }
        (features, hidden, instances) = (model.features, model.hidden, range.count)
        (importance, density) = (try rows(model.importance), try rows(model.density))
        (reluOutput, hiddenReLU) = (Array(model.reluOutput[range]), Array(model.hiddenReLU[range]))
        weight = try rows(model.weight).clone().requiringGrad()
        bias = try rows(model.bias).clone().requiringGrad()
        firstInstance = model.firstInstance + range.lowerBound
    }

    /// Feature i weighs decayⁱ in every instance (decay 1: all equal): (instances, features).
    public static func importance(decay: Double, features: Int, instances: Int) throws -> Tensor {
        try Tensor((0..<features).map { Foundation.pow(decay, Double($0)) }, shape: [1, features]).expanded(to: [instances, features]).contiguous()
    }

    /// Every feature of instance k present with probability `densities[k]`: (instances, features).
    public static func density(_ densities: [Double], features: Int) throws -> Tensor {
        try Tensor(densities, shape: [densities.count, 1]).expanded(to: [densities.count, features]).contiguous()
    }

    public override var localParameters: [(name: String, tensor: Tensor)] { [("W", weight), ("b_final", bias)] }

    /// x̂ for features x (instances, batch, features).
    public override func forward(_ x: Tensor) throws -> Tensor {
        let h = try hiddenActivations(x)
        let z = hidden * features <= 16
            ? try (h.unsqueezed(dim: 3) * weight.unsqueezed(dim: 1)).sum(dims: [2]) + bias.unsqueezed(dim: 1)
            : try Functional.batchedProduct(h, weight, scaledBy: 1, adding: bias.unsqueezed(dim: 1))
        return try Self.relu(z, where: reluOutput)
    }

    /// h = Wx, or ReLU(Wx) for instances with a privileged hidden basis: (instances, batch, hidden).
    public func hiddenActivations(_ x: Tensor) throws -> Tensor {
        guard x.rank == 3, x.shape[0] == instances, x.shape[2] == features else {
            throw TorchError("toy models take (instances \(instances), batch, features \(features)), got \(x.shape)")
        }
        // Tiny models (the phase diagram's 2 → 1) use broadcast products: hundreds of small matrix
        // products, one per instance, cost more.
        let h = hidden * features <= 16
            ? try (x.unsqueezed(dim: 2) * weight.unsqueezed(dim: 1)).sum(dims: [3])
            : try x.matmul(weight.transposed(1, 2))
        return try Self.relu(h, where: hiddenReLU)
    }

    /// ReLU on the instances flagged (ReLU(z) = z + ReLU(−z), added only where flagged).
    static func relu(_ z: Tensor, where flags: [Bool]) throws -> Tensor {
        if flags.allSatisfy({ $0 }) { return try z.relu() }
        if !flags.contains(true) { return z }
        let mask = try Tensor(flags.map { $0 ? Float(1) : 0 }, shape: [flags.count, 1, 1])
        return try z + (z * -1).relu() * mask
    }

    /// Each instance's importance-weighted squared error, averaged over batch and features: (instances,).
    public func losses(_ x: Tensor) throws -> Tensor {
        let error = try x - self(x)
        return try (error * error * importance.unsqueezed(dim: 1)).mean(dims: [1, 2])
    }

    /// A batch of features for every instance: draw `draw` of the stream `seed`.
    public func sample(batchSize: Int, seed: UInt64, draw: UInt64) throws -> Tensor {
        try Tensor.sparseFeatures(probability: density, batchSize: batchSize, seed: seed, draw: draw, firstInstance: firstInstance)
    }

    /// Trains every instance at once with Adam on the sum of their losses, a fresh batch per step;
    /// returns each instance's loss on `evaluationBatches` fresh batches afterwards.
    ///
    /// The instances are split between `Torch.threads` one-thread workers, each training its share
    /// as one batched program: the tensors are too small for libtorch to gain from two threads
    /// per operation (one worker per core is about twice as fast on 2 cores). Instances do not
    /// interact and each share draws its own instances' features, so the result is the same.
    @discardableResult
    public func train(steps: Int, batchSize: Int = 1024, learningRate: Double = 1e-3, seed: UInt64, evaluationBatches: Int = 10) throws -> [Double] {
        guard steps >= 1, batchSize >= 1 else { throw TorchError("training needs at least one step and one example per batch") }
        let workers = Swift.min(Torch.threads, instances)
        guard workers > 1 else {
            return try trainTogether(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed, evaluationBatches: evaluationBatches)
        }
        let size = (instances + workers - 1) / workers
        let ranges = stride(from: 0, to: instances, by: size).map { $0..<Swift.min(instances, $0 + size) }
        let parts = UncheckedSendable(try ranges.map { try ToyModels(instances: $0, of: self) })
        // Only the worker on the calling thread sees the progress observer (a task-local value).
        let losses = try Torch.concurrentMap(ranges.count, workers: workers) { index in
            try parts.value[index].trainTogether(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed,
                                                 evaluationBatches: evaluationBatches)
        }
        try noGrad {
            for (range, part) in zip(ranges, parts.value) {
                try weight.slice(dim: 0, start: range.lowerBound, end: range.upperBound).copyInPlace(from: part.weight)
                try bias.slice(dim: 0, start: range.lowerBound, end: range.upperBound).copyInPlace(from: part.bias)
            }
        }
        return losses.flatMap { $0 }
    }

    /// `train` on the calling thread, all instances in one batched program.
    func trainTogether(steps: Int, batchSize: Int, learningRate: Double, seed: UInt64, evaluationBatches: Int) throws -> [Double] {
        let optimizer = Adam([weight, bias], learningRate: learningRate)
        let every = Swift.max(1, steps / 200)
        for step in 1...steps {
            let loss = try losses(sample(batchSize: batchSize, seed: seed, draw: UInt64(step))).sum()
            try zeroGrad()
            try loss.backward()
            try optimizer.step()
            if step % every == 0 || step == steps {
                let value = try loss.item()
                guard value.isFinite else { throw TorchError("toy-model training diverged at step \(step); lower the learning rate") }
                ProgressObserver.report("toy models", done: step, of: steps, unit: "steps", status: String(format: "loss %.5f", value / Double(instances)))
            }
        }
        return try noGrad {
            var total = try Tensor.zeros([instances])
            for batch in 0..<evaluationBatches {
                total = try total + losses(sample(batchSize: batchSize, seed: seed &+ 1, draw: UInt64(batch)))
            }
            return try (total / Double(evaluationBatches)).to(.float64).scalars(as: Double.self)
        }
    }
}
