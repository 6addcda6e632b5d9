import Foundation
import FuzzDriver
import Datasets

// A libFuzzer target (scripts/fuzz.sh): any bytes must decode to a tensor or throw a TorchError, never crash.
runFuzzer { data in
    _ = try? data.withUnsafeBytes { try IDX.decode($0) }
}
