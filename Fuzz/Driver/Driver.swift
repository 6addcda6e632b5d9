import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The function under test, set once by `runFuzzer` before libFuzzer starts calling.
nonisolated(unsafe) var testInput: (Data) -> Void = { _ in }

/// libFuzzer's entry point (its runtime requires this symbol): hands each input to `testInput`.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    if let bytes { testInput(Data(bytes: bytes, count: count)) }
    return 0
}

/// Hands the process to libFuzzer with `test` as the function under test. SwiftPM renames an
/// executable's `main` to `<module>_main`, so each target calls this from its top-level code.
public func runFuzzer(_ test: @escaping (Data) -> Void) -> Never {
    testInput = test
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(runDriver(&argc, &argv, testOneInput))
}
