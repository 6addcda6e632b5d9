import Datasets
import Foundation
import Geometry
import NN
import Torch

/// Seed 003's question over time: how a layer pair's Jacobian spectrum and effective ranks move
/// while the demo CNN trains (on the bundled MNIST split, the demo's settings), measured at
/// initialisation and after every epoch on the same inputs.
public struct SpectraThroughTraining {
    public var epochs: Int
    public var from: String, to: String
    public var topK = 10
    public var relativeThreshold = 1e-3

    public init(epochs: Int, from: String, to: String) {
        (self.epochs, self.from, self.to) = (epochs, from, to)
    }

    public struct Point: Codable, Sendable {
        public var epoch: Int
        public var testAccuracy: Double
        public var entropyRank: Double, participationRatio: Double, thresholdRank: Double
        /// The median over inputs of the singular values divided by each input's largest.
        public var medianSpectrum: [Double]
        public var inputSideOverlap: Double
    }

    public func run(inputs: Tensor, seed: UInt64) throws -> [Point] {
        let (train, test) = try MNIST.bundled()
        let options = CNNTrainingOptions()
        let model = try Architectures.mnistCNN(generator: Generator(seed: seed))
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: options.learningRate))
        (trainer.batchSize, trainer.seed, trainer.learningRateDecay) = (options.batchSize, seed, options.learningRateDecay)
        trainer.augment = { try Augmentation.randomShift($0, maxPixels: options.shift, generator: $1) }
        func measure(epoch: Int) throws -> Point {
            model.eval()
            defer { model.train() }
            let study = try LayerPairStudy(model, from: from, to: to, inputs: inputs, topK: topK, relativeThreshold: relativeThreshold)
            let ranks = study.meanRanks
            ProgressObserver.note(String(format: "epoch %d: entropy rank %.1f, participation ratio %.1f", epoch, ranks.entropy, ranks.participation))
            return Point(epoch: epoch, testAccuracy: try ClassifierEvaluation({ try model($0) }, on: test).accuracy,
                         entropyRank: ranks.entropy, participationRatio: ranks.participation,
                         thresholdRank: ranks.threshold, medianSpectrum: study.normalizedSpectrum[1],
                         inputSideOverlap: study.agreement.inputSideOverlap)
        }
        var points = [try measure(epoch: 0)]
        try trainer.fit(inputs: train.images, targets: train.labels, epochs: epochs) { report in
            points.append(try measure(epoch: report.epoch))
        }
        return points
    }
}
