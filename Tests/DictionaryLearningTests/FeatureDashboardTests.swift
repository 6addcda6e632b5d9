import Testing
@testable import DictionaryLearning
import Torch

@Suite("Feature dashboards")
struct FeatureDashboardTests {
    @Test("top examples, interval samples inside their intervals, the histogram and the output effects")
    func dashboard() throws {
        let activations: [Double] = [0, 0.1, 0.95, 0, 0.5, 0.3, 0.75, 1.0, 0, 0.22]
        let locations = activations.indices.map { (text: $0 / 5, position: $0 % 5) }
        let effects: [Double] = [0.5, -2, 3, 0, 1]
        let d = try FeatureDashboard(feature: 7, activations: activations, locations: locations, effects: effects, topCount: 3,
                                     intervalCount: 5, perInterval: 1, tokenCount: 2, generator: Generator(seed: 0))
        #expect(d.frequency == 0.7 && d.maxActivation == 1.0)
        #expect(d.top.map(\.activation) == [1.0, 0.95, 0.75] && d.top[0].text == 1 && d.top[0].position == 2)
        #expect(d.intervals.count == 5)
        for (bin, samples) in d.intervals.enumerated() {
            #expect(samples.allSatisfy { $0.activation > d.intervalEdges[bin] && $0.activation <= d.intervalEdges[bin + 1] })
        }
        #expect(d.intervals.map(\.count) == [1, 1, 1, 1, 1])
        #expect(d.histogram.reduce(0, +) == 7 && d.histogram[9] == 2)
        #expect(d.promoted.map(\.token) == [2, 4] && d.suppressed.map(\.token) == [1, 3])
    }
}
