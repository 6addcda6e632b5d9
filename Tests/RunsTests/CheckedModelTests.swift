import Foundation
import Testing
import TestSupport
import ExplanationCore
import Runs
import Torch

/// Models loaded from files are checked on every call: what a TorchScript model traced for another
/// batch size, a classifier without classes, or an overflowing input returns becomes an error.
@Suite("Loaded models and output folders")
struct CheckedModelTests {
    @Test("outputs with the wrong batch, no classes, the wrong rank or non-finite values are errors naming what came back")
    func outputsAreChecked() throws {
        let x = try Tensor.rand([8, 4])
        let cases: [(String, (Tensor) throws -> Tensor, String)] = [
            ("traced for batch 1", { _ in try Tensor.zeros([1, 3]) }, "traced for one batch size"),
            ("no classes", { try Tensor.zeros([$0.shape[0], 0]) }, "at least one class"),
            ("a vector", { try Tensor.zeros([$0.shape[0]]) }, "expected (N, classes)"),
            ("NaN", { try Tensor.full([$0.shape[0], 3], value: .nan) }, "NaN or infinite outputs"),
        ]
        for (name, body, expected) in cases {
            do {
                _ = try CheckedModel(ForwardFunction(body))(x)
                Issue.record("\(name) was accepted")
            } catch let error as TorchError {
                #expect(error.message.contains(expected), "\(name): \(error.message)")
            }
        }
        let fine = try CheckedModel(ForwardFunction { try $0.sum(dims: [1], keepDims: true) })(x)
        #expect(fine.shape == [8, 1])
        let sequence = try CheckedModel(ForwardFunction { try Tensor.zeros([$0.shape[0], 5, 2]) })(x)
        #expect(sequence.shape == [8, 5, 2])
    }

    @Test("an output folder is created, and a file, an empty path or an unwritable place is refused before any work")
    func outputFolders() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let nested = folder.appendingPathComponent("a/b").path
        try OutputFolder.prepare(nested)
        var isFolder: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: nested, isDirectory: &isFolder) && isFolder.boolValue)
        let file = folder.appendingPathComponent("file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: TorchError.self) { try OutputFolder.prepare(file) }
        #expect(throws: TorchError.self) { try OutputFolder.prepare("") }
        #expect(throws: TorchError.self) { try OutputFolder.prepare("/dev/null/x") }
    }
}
