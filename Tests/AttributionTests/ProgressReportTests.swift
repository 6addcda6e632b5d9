import Foundation
import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import Torch

/// Collects progress reports.
final class ReportLog: @unchecked Sendable {
    let lock = NSLock()
    var reports: [(done: Int, total: Int)] = []
    var observer: ProgressObserver {
        ProgressObserver { [self] report in lock.lock(); reports.append((report.done, report.total)); lock.unlock() }
    }
}

@Suite("Attribution progress reports")
struct ProgressReportTests {
    func model() throws -> Sequential {
        let model = Sequential([Flatten(), try Linear(16, 3, generator: Generator(seed: 90))])
        model.eval()
        return model
    }

    @Test("each method reports one loop that rises chunk by chunk to its total; nested loops stay quiet",
          arguments: ["occlusion", "integrated-gradients", "smoothgrad", "vargrad", "shapley"])
    func reportsRiseToTheTotal(method name: String) throws {
        let model = try model()
        let x = try Tensor.randn([2, 1, 4, 4], generator: Generator(seed: 91))
        let method: AttributionMethod
        switch name {
        case "occlusion":
            var m = Occlusion(model, window: [1, 1, 1])
            m.perturbationsPerEvaluation = 10
            method = m
        case "integrated-gradients":
            var m = IntegratedGradients(model)
            (m.steps, m.internalBatchSize) = (20, 8)
            method = m
        case "smoothgrad", "vargrad":
            var m = NoiseTunnel(IntegratedGradients(model), kind: name == "smoothgrad" ? .smoothGrad : .varGrad, samples: 6)
            m.samplesPerBatch = 2
            method = m
        default:
            method = ShapleyValueSampling(model, samples: 3)
        }
        let log = ReportLog()
        _ = try log.observer.observing { try method.attribute(x, target: .index(1)) }
        let totals = Set(log.reports.map(\.total))
        #expect(totals.count == 1, "\(log.reports)")
        let dones = log.reports.map(\.done)
        #expect(dones == dones.sorted() && dones.count > 1 && dones.last == log.reports.first?.total, "\(log.reports)")
    }
}
