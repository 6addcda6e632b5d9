import Foundation
import Torch

enum Fixture {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
    }

    static func tensors(_ name: String) throws -> [String: Tensor] {
        try Safetensors.read(path(name)).tensors
    }
}

/// Largest absolute difference between two tensors of the same shape.
func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double {
    precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
    return try (a.to(.float64) - b.to(.float64)).abs().max().item()
}

/// Largest absolute difference relative to the reference's largest magnitude.
func relativeDifference(_ actual: Tensor, _ expected: Tensor) throws -> Double {
    try maxDifference(actual, expected) / max(expected.to(.float64).abs().max().item(), 1e-12)
}

func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as TorchError {
        return error.message
    } catch {
        return "\(error)"
    }
}
