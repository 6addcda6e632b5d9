import Torch

/// Ready-made networks with PyTorch twins (see `tools/make_fixtures.py`).
public enum Architectures {
    /// The demo's MNIST classifier, input (N, 1, 28, 28), output 10 logits.
    ///
    /// PyTorch twin:
    /// `nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    ///  nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    ///  nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))`.
    /// Hook points: "0" … "10" (the layers' outputs).
    public static func mnistCNN(generator: Generator? = nil) throws -> Sequential {
        Sequential([
            try Conv2d(1, 32, kernelSize: 3, padding: 1, generator: generator), ReLU(), MaxPool2d(2),
            try Conv2d(32, 64, kernelSize: 3, padding: 1, generator: generator), ReLU(), MaxPool2d(2),
            Flatten(), Dropout(0.25),
            try Linear(64 * 7 * 7, 128, generator: generator), ReLU(),
            try Linear(128, 10, generator: generator),
        ])
    }
}
