import Testing
import TestSupport
import ExplanationCore
import Torch

/// The projected gradient loop that stability estimates, attacks and visualisation share.
@Suite("Input optimisation")
struct InputOptimizationTests {
    @Test("signed ascent on a linear objective walks to the corner of the L∞ ball and stays there")
    func signedAscentReachesTheBallCorner() throws {
        let w = try Tensor([1, -2, 0.5, -0.1] as [Float], shape: [1, 4])
        let x0 = try Tensor.randn([3, 4], generator: Generator(seed: 1))
        var seen: [Double] = []
        let ascent = InputOptimization(.ascent, step: .signed(size: 0.1), steps: 5, constraints: [.lInfinityBall(center: x0, radius: 0.25)])
        let end = try ascent.run(from: x0, objective: { try ($0 * w).sum(dims: [1]) }, observe: { _, values in seen.append(try values.sum().item()) })
        #expect(try maxDifference(end, x0 + w.sign() * 0.25) < 1e-6)
        #expect(seen.count == 6 && seen == seen.sorted())
    }

    @Test("normalised descent inside an L2 ball ends on the boundary, towards the minimum; the range clamps")
    func normalizedDescentStaysInTheL2Ball() throws {
        let x0 = try Tensor.zeros([2, 3])
        let goal = try Tensor([3, 4, 0, 0, 0, -5] as [Float], shape: [2, 3])
        let descent = InputOptimization(.descent, step: .normalized(size: 0.3), steps: 20,
                                        constraints: [.l2Ball(center: x0, radius: 1)])
        let end = try descent.run(from: x0, objective: { try ($0 - goal).square().sum(dims: [1]) })
        let direction = try goal / goal.norm(dims: [1], keepDims: true)
        #expect(try maxDifference(end, direction) < 1e-4)
        let clamped = try InputOptimization(.ascent, step: .plain(rate: 10), steps: 1, constraints: [.range(low: 0, high: 1)])
            .run(from: x0, objective: { try ($0 * goal).sum(dims: [1]) })
        #expect(try clamped.scalars(as: Float.self) == [1, 1, 0, 0, 0, 0])
    }

    @Test("an objective that does not give one value per row is refused")
    func wrongObjectiveShape() throws {
        let loop = InputOptimization(.ascent, step: .signed(size: 0.1), steps: 1)
        #expect(throws: TorchError.self) { try loop.run(from: Tensor.zeros([2, 3]), objective: { try $0.sum() }) }
    }
}
