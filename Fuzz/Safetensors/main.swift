import Foundation
import FuzzDriver
import Torch

// A libFuzzer target (scripts/fuzz.sh): any bytes must decode to tensors or throw a TorchError, never crash.
runFuzzer { _ = try? Safetensors.decode($0) }
