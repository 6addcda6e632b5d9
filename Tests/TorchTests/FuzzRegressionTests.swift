import Foundation
import Testing
import Torch

/// Every input kept in Fuzz/regressions (crashes found by fuzzing, and the crash reproductions of
/// issue 13) goes through its reader and is refused with an error; none may crash the process.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static func inputs(_ reader: String) throws -> [URL] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/regressions/\(reader)")
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).sorted { $0.path < $1.path }
    }

    @Test("kept safetensors, .npy and PNG inputs are refused, never crash")
    func readersRefuseKeptInputs() throws {
        let readers: [(String, (Data) throws -> Void)] = [
            ("Safetensors", { _ = try Safetensors.decode($0) }), ("Numpy", { _ = try NumpyFile.decode($0) }), ("PNG", { _ = try PNG.decode($0) }),
        ]
        for (reader, decode) in readers {
            let files = try Self.inputs(reader)
            #expect(!files.isEmpty, "no regression inputs for \(reader)")
            for file in files {
                #expect(throws: TorchError.self, "\(reader): \(file.lastPathComponent)") { try decode(Data(contentsOf: file)) }
            }
        }
    }
}
