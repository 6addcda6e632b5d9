import Foundation
import FuzzDriver
import Torch

// A libFuzzer target (scripts/fuzz.sh): any bytes must decode to a tensor or throw a TorchError, never crash.
runFuzzer { _ = try? NumpyFile.decode($0) }
