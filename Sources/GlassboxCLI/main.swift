import Foundation
import Torch
import NN
import Datasets

try Torch.setThreads(ProcessInfo.processInfo.activeProcessorCount)
let env = ProcessInfo.processInfo.environment
let (train, test) = try MNIST.bundled()
let model = try Architectures.mnistCNN(generator: Generator(seed: 0))
let optimizer = Adam(model.parameters, learningRate: Double(env["LR"] ?? "2e-3")!)
let trainer = Trainer(model: model, optimizer: optimizer)
trainer.batchSize = Int(env["BS"] ?? "64")!
trainer.learningRateDecay = Double(env["DECAY"] ?? "1")!
trainer.quiet = true
if env["AUG"] == "1" {
  trainer.augment = { x, g in
    // shift the whole batch by a random (dy, dx) in [-2, 2]
    let s = try Tensor.randint(0, 5, shape: [2], generator: g).scalars(as: Int64.self).map(Int.init)
    let padded = try x.padded([2, 2, 2, 2])
    return try padded.slice(dim: 2, start: s[0], end: s[0] + 28).slice(dim: 3, start: s[1], end: s[1] + 28)
  }
}
let start = Date()
try trainer.fit(inputs: train.images, targets: train.labels, epochs: Int(env["EP"] ?? "12")!) { report in
    let acc = try noGrad { () -> Double in
        model.eval(); defer { model.train() }
        return Double(try model(test.images).argmax(dim: 1).eq(test.labels).to(.int64).sum().itemInt()) / 1000
    }
    print(report.epoch, String(format: "%.4f %.4f %.3f %.1f", report.loss, report.accuracy, acc, Date().timeIntervalSince(start)))
}
