import Foundation
import FuzzDriver
import Torch

// A libFuzzer target (scripts/fuzz.sh): any bytes must decode to an image or throw a TorchError, never crash.
runFuzzer { _ = try? PNG.decode($0) }
