import NN
import Torch

/// SENN for tabular data: the features themselves are the concepts (identity conceptizer),
/// so the relevances θ(x) are per-example feature weights, and θ is an MLP.
public enum TabularSENN {
    /// θ: features → hidden (ReLU) → … → features · classes, tanh-free so weights are unbounded.
    public static func parametrizer(features: Int, classes: Int, hidden: [Int] = [64, 64], dropout: Double = 0.1,
                                    generator: Generator? = nil) throws -> Sequential {
        var layers: [Module] = []
        var width = features
        for size in hidden {
            layers += [try Linear(width, size, generator: generator), ReLU(), Dropout(dropout)]
            width = size
        }
        layers.append(try Linear(width, features * classes, generator: generator))
        return Sequential(layers)
    }

    public static func model(features: Int, classes: Int, hidden: [Int] = [64, 64], generator: Generator? = nil) throws -> SENN {
        SENN(conceptizer: InputFeatures(),
             parametrizer: try parametrizer(features: features, classes: classes, hidden: hidden, generator: generator),
             concepts: features, classes: classes)
    }
}
