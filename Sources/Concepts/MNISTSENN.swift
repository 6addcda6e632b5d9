import NN
import Torch

/// The SENN architectures the paper's authors used for MNIST (dmelis/SENN), for
/// (N, 1, 28, 28) inputs.
public enum MNISTSENN {
    /// θ: conv(1→10, k5) → max-pool → ReLU → conv(10→20, k5) → dropout → max-pool → ReLU →
    /// linear(320 → concepts·10) → dropout → tanh.
    public static func parametrizer(concepts: Int, dropout: Double = 0.1, generator: Generator? = nil) throws -> Sequential {
        Sequential([
            try Conv2d(1, 10, kernelSize: 5, generator: generator), MaxPool2d(2), ReLU(),
            try Conv2d(10, 20, kernelSize: 5, generator: generator), Dropout(dropout), MaxPool2d(2), ReLU(),
            Flatten(), try Linear(320, concepts * 10, generator: generator), Dropout(dropout), Activation(.tanh),
        ])
    }

    /// h: conv(1→10, k5) → pool → ReLU → conv(10→concepts, k5) → pool → ReLU → per-concept linear(16 → 1);
    /// decoder: linear(1 → 16) per concept → three transposed convolutions back to 28×28, tanh.
    /// With `nonnegative`, a softplus keeps concepts ≥ 0 (not in the authors' code): then the sign
    /// of a relevance θ says alone which way a concept pushes the class.
    public static func conceptizer(concepts: Int, nonnegative: Bool = false, generator: Generator? = nil) throws -> ConceptAutoencoder {
        let encoder = Sequential([
            try Conv2d(1, 10, kernelSize: 5, generator: generator), MaxPool2d(2), ReLU(),
            try Conv2d(10, concepts, kernelSize: 5, generator: generator), MaxPool2d(2), ReLU(),
            Unflatten([concepts, 16]), try Linear(16, 1, generator: generator), Flatten(),
        ] + (nonnegative ? [Activation(.softplus)] : []))
        let decoder = Sequential([
            Unflatten([concepts, 1]), try Linear(1, 16, generator: generator), Unflatten([concepts, 4, 4]),
            try ConvTranspose2d(concepts, 16, kernelSize: 5, stride: 2, generator: generator), ReLU(),
            try ConvTranspose2d(16, 8, kernelSize: 5, generator: generator), ReLU(),
            try ConvTranspose2d(8, 1, kernelSize: 2, stride: 2, padding: 1, generator: generator), Activation(.tanh),
        ])
        return ConceptAutoencoder(encoder: encoder, decoder: decoder)
    }

    public static func model(concepts: Int = 5, classes: Int = 10, nonnegativeConcepts: Bool = false,
                             generator: Generator? = nil) throws -> SENN {
        SENN(conceptizer: try conceptizer(concepts: concepts, nonnegative: nonnegativeConcepts, generator: generator),
             parametrizer: try parametrizer(concepts: concepts, generator: generator), concepts: concepts, classes: classes)
    }
}
