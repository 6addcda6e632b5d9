import Foundation
import Torch

/// What a feature dashboard shows (Bricken et al. 2023): where the feature fires most, examples
/// drawn uniformly from intervals of its activation (top activations alone mislead: a feature's
/// weak firings can mean something else), its activation histogram, and the output tokens its
/// decoder direction pushes up and down.
public struct FeatureDashboard: Codable, Sendable {
    /// A position in the texts: text index and token index within it.
    public struct Example: Codable, Sendable {
        public var text: Int, position: Int
        public var activation: Double
    }

    public struct TokenEffect: Codable, Sendable {
        public var token: Int
        public var effect: Double
    }

    public var feature: Int
    /// Share of positions where it fires, and its largest activation.
    public var frequency: Double, maxActivation: Double
    public var top: [Example]
    /// Samples from equal-width activation intervals of (0, max], lowest first, and the edges.
    public var intervals: [[Example]]
    public var intervalEdges: [Double]
    /// Counts of the positive activations in 10 equal bins of (0, max].
    public var histogram: [Int]
    public var promoted: [TokenEffect], suppressed: [TokenEffect]

    /// `activations`: the feature's value at every position; `locations`: each position's text
    /// and token index; `effects`: its effect on each output token's logit (any scale).
    public init(feature: Int, activations: [Double], locations: [(text: Int, position: Int)], effects: [Double], topCount: Int = 10,
                intervalCount: Int = 5, perInterval: Int = 2, tokenCount: Int = 8, generator: Generator) throws {
        precondition(activations.count == locations.count)
        self.feature = feature
        let firing = activations.indices.filter { activations[$0] > 0 }
        frequency = Double(firing.count) / Double(Swift.max(activations.count, 1))
        maxActivation = firing.map { activations[$0] }.max() ?? 0
        let example = { (i: Int) in Example(text: locations[i].text, position: locations[i].position, activation: activations[i]) }
        top = firing.sorted { activations[$0] > activations[$1] }.prefix(topCount).map(example)
        let top = maxActivation
        let edges = (0...intervalCount).map { top * Double($0) / Double(intervalCount) }
        intervalEdges = edges
        var samples: [[Example]] = []
        for bin in 0..<intervalCount {
            let members = firing.filter { activations[$0] > edges[bin] && activations[$0] <= edges[bin + 1] }
            guard !members.isEmpty else { samples.append([]); continue }
            let order = try Tensor.randperm(members.count, generator: generator).scalars(as: Int64.self)
            samples.append(order.prefix(perInterval).map { example(members[Int($0)]) })
        }
        intervals = samples
        var counts = [Int](repeating: 0, count: 10)
        if top > 0 { for i in firing { counts[Swift.min(9, Int(activations[i] / top * 10))] += 1 } }
        histogram = counts
        let ranked = effects.indices.sorted { effects[$0] > effects[$1] }
        promoted = ranked.prefix(tokenCount).map { TokenEffect(token: $0, effect: effects[$0]) }
        suppressed = ranked.suffix(tokenCount).reversed().map { TokenEffect(token: $0, effect: effects[$0]) }
    }
}
