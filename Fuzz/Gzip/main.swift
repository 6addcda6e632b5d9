import Foundation
import FuzzDriver
import Datasets

// A libFuzzer target (scripts/fuzz.sh): any bytes, as a gzipped IDX file on disk, must read or throw, never crash or inflate past the reader's limit.
runFuzzer { data in
    let path = "/dev/shm/glassbox-fuzz-\(getpid()).gz"
    guard FileManager.default.createFile(atPath: path, contents: data) else { return }
    defer { unlink(path) }
    _ = try? IDX.read(path)
}
