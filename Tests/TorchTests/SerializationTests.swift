import Foundation
import Testing
import TestSupport
@testable import Torch

@Suite("Safetensors")
struct SafetensorsTests {
    @Test("reads every dtype and the metadata of a file written by Python's safetensors")
    func readsPythonFile() throws {
        let (t, metadata) = try Safetensors.read(Fixture.path("python_written.safetensors"))
        #expect(metadata == ["origin": "python", "n": "12"])
        #expect(t.count == 12)
        #expect(t["f32"]!.shape == [2, 3])
        #expect(try t["f32"]!.scalars(as: Float.self) == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(try t["f64"]!.scalars(as: Double.self) == [1.5, -2.25])
        #expect(try t["f16"]!.floats() == [0.5, 2, -1])
        #expect(try t["bf16"]!.floats() == [1, -3])
        #expect(try t["i64"]!.scalars(as: Int64.self) == [-(1 << 40), 7])
        #expect(try t["i32"]!.scalars(as: Int32.self) == [1, -2, 3, -4])
        #expect(try t["i16"]!.to(.int64).scalars(as: Int64.self) == [-300])
        #expect(try t["i8"]!.to(.int64).scalars(as: Int64.self) == [-5, 5])
        #expect(try t["u8"]!.scalars(as: UInt8.self) == [0, 255, 128])
        #expect(try t["bool"]!.scalars(as: Bool.self) == [true, false, true])
        #expect(t["scalar"]!.shape == [])
        #expect(try t["scalar"]!.item() == 3)
        #expect(t["empty"]!.shape == [0, 4])
    }

    static func interopTensors() throws -> [String: Tensor] {
        [
            "weights": try Tensor.arange(0, 12, dtype: .float32).reshaped([3, 4]) * 0.5 - 1,
            "counts": try Tensor([1, -2, 3] as [Int64]),
            "mask": try Tensor([true, false]),
            "half": try Tensor([0.25, -8] as [Float]).to(.float16),
            "empty": try Tensor.zeros([2, 0]),
        ]
    }

    /// swift_written.safetensors was made by this encoder and verified to load in
    /// Python's safetensors by tools/make_fixtures.py; the encoder must keep producing it.
    @Test("the encoder reproduces the file Python's safetensors verified")
    func encoderMatchesVerifiedFile() throws {
        let metadata = ["written_by": "glassbox", "purpose": "interop"]
        let encoded = try Safetensors.encode(Self.interopTensors(), metadata: metadata)
        let path = Fixture.path("swift_written.safetensors")
        if ProcessInfo.processInfo.environment["GLASSBOX_WRITE_FIXTURES"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/swift_written.safetensors")
            try encoded.write(to: source)
        }
        #expect(encoded == (try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test("write then read gives back the same tensors and metadata")
    func roundTrips() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("x.safetensors").path
        let tensors = try Self.interopTensors()
        try Safetensors.write(tensors, metadata: ["k": "v"], to: path)
        let (back, metadata) = try Safetensors.read(path)
        #expect(metadata == ["k": "v"])
        for (name, tensor) in tensors {
            #expect(back[name]!.shape == tensor.shape)
            #expect(back[name]!.dtype == tensor.dtype)
            #expect(try back[name]!.bytes() == tensor.bytes())
        }
        // Only the final file remains: the temporary file was renamed over it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["x.safetensors"])
        // The metadata alone comes from the header, the same as a full read's.
        #expect(try Safetensors.readMetadata(path) == ["k": "v"])
        let broken = folder.appendingPathComponent("broken.safetensors").path
        try Self.header("{\"__metadata__\":{\"k\":1}}").write(to: URL(fileURLWithPath: broken))
        #expect(throws: TorchError.self) { try Safetensors.readMetadata(broken) }
    }

    static func header(_ json: String, data: [UInt8] = []) -> Data {
        var out = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        return out + Data(json.utf8) + Data(data)
    }

    @Test("malformed files give clear errors", arguments: [
        (Data([1, 2, 3]), "shorter than the 8-byte header length"),
        (Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x7B]), "header claims"),
        (header("{not json"), "not a JSON object"),
        (header("[1, 2]"), "not a JSON object"),
        (header(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: [0, 0, 0, 0]), "outside the file"),
        (header(#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: Array(repeating: 0, count: 8)), "needs 12 bytes"),
        (header(#"{"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}"#, data: Array(repeating: 0, count: 8)), "unsupported dtype C64"),
        (header(#"{"a": {"dtype": "F32", "shape": [1]}}"#), "lacks dtype, shape or data_offsets"),
        (header(#"{"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}"#, data: [1, 2, 3]), "overlap"),
        (header(#"{"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}}"#, data: [1]), "bad shape"),
        (header(#"{"__metadata__": {"k": 3}}"#), "not a string"),
    ] as [(Data, String)])
    func malformedFilesFail(data: Data, expected: String) throws {
        let message = errorMessage { _ = try Safetensors.decode(data) }
        #expect(message?.contains(expected) == true, "got: \(message ?? "no error")")
    }

    @Test("a truncated real file is rejected")
    func truncatedFileFails() throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("python_written.safetensors")))
        for cut in [4, 20, full.count - 1] {
            #expect(throws: TorchError.self) { try Safetensors.decode(full.prefix(cut)) }
        }
    }

    @Test("a missing file names its path")
    func missingFileNamesPath() {
        #expect(errorMessage { _ = try Safetensors.read("/nonexistent/model.safetensors") }?.contains("/nonexistent/model.safetensors") == true)
    }
}

@Suite("NumPy files")
struct NumpyFileTests {
    @Test("reads NumPy-written float32, Fortran-order int64 and uint8 files")
    func readsNumpyFiles() throws {
        let f32 = try NumpyFile.read(Fixture.path("python_f32.npy"))
        #expect(f32.shape == [3, 4])
        #expect(try f32.scalars(as: Float.self) == (0..<12).map { Float($0) / 8 })
        let fortran = try NumpyFile.read(Fixture.path("python_i64_fortran.npy"))
        #expect(fortran.shape == [2, 3])
        #expect(try fortran.scalars(as: Int64.self) == [0, 1, 2, 3, 4, 5])
        #expect(try NumpyFile.read(Fixture.path("python_u8.npy")).scalars(as: UInt8.self) == [0, 128, 255])
    }

    @Test("write then read round-trips, with a 64-byte aligned header as NumPy writes it")
    func roundTrips() throws {
        let x = try Tensor.arange(0, 24, dtype: .float64).reshaped([2, 3, 4])
        let data = try NumpyFile.encode(x)
        #expect((data.count - 24 * 8) % 64 == 0)
        let header = String(decoding: data[10..<(data.count - 24 * 8)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }"))
        #expect(try NumpyFile.decode(data).scalars(as: Double.self) == x.scalars(as: Double.self))
        #expect(try NumpyFile.decode(NumpyFile.encode(Tensor([5] as [Int64]))).shape == [1])
    }

    @Test("malformed .npy files give clear errors")
    func malformedFilesFail() throws {
        let good = try NumpyFile.encode(Tensor([1, 2, 3] as [Float]))
        #expect(errorMessage { _ = try NumpyFile.decode(Data("hello".utf8)) }?.contains("magic") == true)
        #expect(errorMessage { _ = try NumpyFile.decode(good.prefix(good.count - 2)) }?.contains("needs 12 data bytes") == true)
        var bigEndian = good
        let range = bigEndian.range(of: Data("<f4".utf8))!
        bigEndian.replaceSubrange(range, with: Data(">f4".utf8))
        #expect(errorMessage { _ = try NumpyFile.decode(bigEndian) }?.contains("unsupported dtype") == true)
        #expect(errorMessage { _ = try NumpyFile.decode(good.prefix(9)) } != nil)
    }
}
