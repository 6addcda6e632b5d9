import Dispatch
import Foundation
import Testing
import TestSupport
import ExplanationCore
import Attribution
import NN
import Torch

/// Explanations keep their state (ReLU rules, hooks) per call, so several at once on one model
/// give what they give alone — what a server explaining one model for many users needs.
@Suite("Concurrent explanations of one model")
struct ConcurrencyTests {
    final class Results: @unchecked Sendable {
        let lock = NSLock()
        var byJob: [Int: [Float]] = [:]
        var errors: [String] = []
        func record(_ job: Int, _ values: [Float]) { lock.lock(); byJob[job] = values; lock.unlock() }
        func fail(_ message: String) { lock.lock(); errors.append(message); lock.unlock() }
    }

    @Test("guided backprop, saliency and a hooked forward pass run concurrently on one model and give exactly the sequential results")
    func concurrentMethodsMatchSequential() throws {
        let model = try ReferenceModel.cnn.model()
        let x = ReferenceModel.cnn.input
        let target = ReferenceModel.cnn.target
        // Three kinds of job: guided backprop (switches ReLU rules), saliency (needs standard ReLUs),
        // and a forward pass with a hook that zeroes layer 3 (must not leak into the others).
        let jobs: [@Sendable () throws -> Tensor] = [
            { try GuidedBackprop(model).attribute(x, target: target).values },
            { try Saliency(model, absoluteValue: false).attribute(x, target: target).values },
            { try noGrad { try model.runWithPatch(x, at: "3") { try $0.zerosLike() } } },
            { try noGrad { try model(x) } },
        ]
        let sequential = try jobs.map { try $0().scalars(as: Float.self) }
        #expect(sequential[0] != sequential[1], "guided backprop and saliency must differ for the test to mean anything")
        #expect(sequential[2] != sequential[3], "the hook must change the output for the test to mean anything")

        let rounds = 24
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: rounds * jobs.count) { index in
            let job = index % jobs.count
            do {
                let values = try jobs[job]().scalars(as: Float.self)
                if values != sequential[job] { results.fail("job \(job), run \(index / jobs.count) differs from its sequential result") }
                results.record(job, values)
            } catch {
                results.fail("job \(job): \(error)")
            }
        }
        #expect(results.errors.isEmpty, "\(results.errors.prefix(5))")
        #expect(results.byJob.count == jobs.count)
        #expect(model.attachedHookCount == 0)
        #expect(model.namedModules().compactMap { $0.module as? ReLU }.allSatisfy { $0.backwardRule == .standard })
    }

    @Test("hooks and ReLU rules belong to the call that set them: nested scopes add, and end with their call")
    func scopesNestAndEnd() throws {
        let model = try ReferenceModel.cnn.model()
        let x = ReferenceModel.cnn.input
        var seen: [String] = []
        try model.withHooks([("3", { _, point in seen.append("outer \(point)"); return nil })]) {
            try model.withReLUBackwardRule(.guided) {
                #expect(model.namedModules().compactMap { $0.module as? ReLU }.allSatisfy { $0.backwardRule == .guided })
                try model.withHooks([("3", { _, point in seen.append("inner \(point)"); return nil })]) {
                    _ = try noGrad { try model(x) }
                }
            }
            #expect(model.namedModules().compactMap { $0.module as? ReLU }.allSatisfy { $0.backwardRule == .standard })
            _ = try noGrad { try model(x) }
        }
        #expect(seen == ["outer 3", "inner 3", "outer 3"])
        #expect(model.attachedHookCount == 0)
    }
}
