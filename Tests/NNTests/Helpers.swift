import Foundation
import TestSupport
import Torch

enum Fixture {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
    }

    static func tensors(_ name: String) throws -> [String: Tensor] {
        try Safetensors.read(path(name)).tensors
    }
}
