import Foundation
import FuzzDriver
import Torch

// A libFuzzer target (scripts/fuzz.sh): any bytes must decode to tensors or throw a TorchError, never crash.

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data = bytes else { return 0 }
    _ = try? Safetensors.decode(Data(bytes: data, count: count))
    return 0
}

runFuzzer(testOneInput)
