import ExplanationCore
import NN
import Torch

/// What a feature visualisation maximises for one image (Olah, Mordvintsev & Schubert 2017,
/// "Feature Visualization"): a unit, a channel's mean, a whole layer's mean square (DeepDream),
/// a class logit or probability, or a weighted sum of these.
public indirect enum FeatureObjective: Sendable, CustomStringConvertible {
    /// One unit: channel `channel` of a flat layer, or at the centre (or `position`) of a feature map.
    case neuron(hookPoint: String, channel: Int, position: (y: Int, x: Int)?)
    /// The mean of one channel's feature map.
    case channel(hookPoint: String, channel: Int)
    /// The mean square of a whole layer's activations (DeepDream).
    case layer(hookPoint: String)
    case logit(Int)
    /// The log of the class probability (softmax of the logits).
    case probability(Int)
    /// Minus the relative squared distance ‖φ(x) − target‖² / ‖target‖² of the activation at a hook
    /// point ("output": the model's output) from a target representation (one image's): maximising
    /// it inverts the representation (Mahendran & Vedaldi 2015).
    case match(hookPoint: String, target: Tensor)
    case sum([WeightedObjective])

    public struct WeightedObjective: Sendable {
        public var weight: Double
        public var objective: FeatureObjective
        public init(_ weight: Double, _ objective: FeatureObjective) { (self.weight, self.objective) = (weight, objective) }
    }

    /// The hook points whose activations the objective reads.
    /// The hook point name that stands for the model's output in `match`.
    public static let output = "output"

    public var hookPoints: Set<String> {
        switch self {
        case .neuron(let point, _, _), .channel(let point, _), .layer(let point): return [point]
        case .match(let point, _): return point == FeatureObjective.output ? [] : [point]
        case .logit, .probability: return []
        case .sum(let parts): return parts.reduce(into: Set<String>()) { $0.formUnion($1.objective.hookPoints) }
        }
    }

    /// The objective of one image (row `row` of the batch) from the model's output and cached activations.
    func value(row: Int, output: Tensor, cache: [String: Tensor]) throws -> Tensor {
        func activation(_ point: String) throws -> Tensor {
            guard let a = cache[point] else { throw TorchError("hook point '\(point)' was not reached in the forward pass") }
            return try a[row]
        }
        switch self {
        case .neuron(let point, let channel, let position):
            let a = try activation(point)
            try Self.check(channel, in: a, point)
            guard a.rank == 3 else { return try a[channel] }
            let y = position?.y ?? a.shape[1] / 2, x = position?.x ?? a.shape[2] / 2
            guard (0..<a.shape[1]).contains(y), (0..<a.shape[2]).contains(x) else {
                throw TorchError("position (\(y), \(x)) is outside \(point)'s \(a.shape[1])×\(a.shape[2]) feature map")
            }
            return try a[channel][y][x]
        case .channel(let point, let channel):
            let a = try activation(point)
            try Self.check(channel, in: a, point)
            return try a[channel].mean()
        case .layer(let point):
            return try activation(point).square().mean()
        case .logit(let index):
            try Self.check(index, in: try output[row], "the output")
            return try output[row][index]
        case .probability(let index):
            try Self.check(index, in: try output[row], "the output")
            return try output[row].logSoftmax(dim: 0)[index]
        case .match(let point, let target):
            let a = try point == FeatureObjective.output ? output[row] : activation(point)
            guard a.shape == target.shape else { throw TorchError("the target representation at \(point) has shape \(target.shape), the activation \(a.shape)") }
            return try -((a - target).square().sum() / target.square().sum().clamp(min: 1e-12))
        case .sum(let parts):
            var total = try Tensor.zeros([], dtype: output.dtype)
            for part in parts { total = try total + part.objective.value(row: row, output: output, cache: cache) * part.weight }
            return total
        }
    }

    static func check(_ channel: Int, in activation: Tensor, _ place: String) throws {
        guard activation.rank >= 1, (0..<activation.shape[0]).contains(channel) else {
            throw TorchError("\(place) has \(activation.shape.first ?? 0) channels (shape \(activation.shape) per image); \(channel) is out of range")
        }
    }

    public var description: String {
        switch self {
        case .neuron(let point, let channel, let position): return "\(point):neuron:\(channel)" + (position.map { "@\($0.y),\($0.x)" } ?? "")
        case .channel(let point, let channel): return "\(point):channel:\(channel)"
        case .layer(let point): return "\(point):layer"
        case .logit(let index): return "logit:\(index)"
        case .probability(let index): return "probability:\(index)"
        case .match(let point, _): return "\(point):match"
        case .sum(let parts): return parts.map { "\($0.weight)*\($0.objective)" }.joined(separator: "+")
        }
    }

    /// Parses "HOOK:channel:C", "HOOK:neuron:C[@Y,X]", "HOOK:layer", "logit:K", "probability:K"
    /// and weighted sums such as "0.5*9:neuron:3+0.5*logit:7".
    public init(parsing text: String) throws {
        let terms = text.split(separator: "+").map { $0.trimmingCharacters(in: .whitespaces) }
        if terms.count > 1 {
            self = .sum(try terms.map { term in
                let pieces = term.split(separator: "*", maxSplits: 1).map(String.init)
                guard pieces.count == 2, let weight = Double(pieces[0]), weight.isFinite else {
                    throw TorchError("a sum of objectives takes WEIGHT*OBJECTIVE terms, got '\(term)'")
                }
                return WeightedObjective(weight, try FeatureObjective(parsing: pieces[1]))
            })
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ s: String) throws -> Int {
            guard let n = Int(s), n >= 0 else { throw TorchError("'\(s)' in objective '\(text)' is not a channel or class number") }
            return n
        }
        switch (parts.count, parts.first, parts.count > 1 ? parts[1] : "") {
        case (2, "logit", _): self = .logit(try number(parts[1]))
        case (2, "probability", _): self = .probability(try number(parts[1]))
        case (2, _, "layer"): self = .layer(hookPoint: parts[0])
        case (3, _, "channel"): self = .channel(hookPoint: parts[0], channel: try number(parts[2]))
        case (3, _, "neuron"):
            let unit = parts[2].split(separator: "@").map(String.init)
            var position: (Int, Int)?
            if unit.count == 2 {
                let yx = unit[1].split(separator: ",").map(String.init)
                guard yx.count == 2 else { throw TorchError("a neuron's position is @Y,X, got '\(parts[2])'") }
                position = (try number(yx[0]), try number(yx[1]))
            }
            self = .neuron(hookPoint: parts[0], channel: try number(unit[0]), position: position)
        default:
            throw TorchError("objective '\(text)' is not one of HOOK:channel:C, HOOK:neuron:C[@Y,X], HOOK:layer, logit:K, probability:K, or a sum W*OBJ+W*OBJ")
        }
    }
}
