import Foundation
import FuzzDriver
import Datasets

// A libFuzzer target (scripts/fuzz.sh): any bytes, as a gzipped IDX file on disk, must read or throw, never crash or inflate past the reader's limit.

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data = bytes else { return 0 }
    let path = "/dev/shm/glassbox-fuzz-\(getpid()).gz"
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: count)) else { return 0 }
    _ = try? IDX.read(path)
    return 0
}

runFuzzer(testOneInput)
