import Foundation
import Torch

/// The IDX format of the original MNIST files (optionally gzipped): a magic
/// number giving the element type and rank, big-endian sizes, then the data.
public enum IDX {
    /// Files whose contents (after gunzip) exceed this are refused rather than read into memory
    /// (the full MNIST training images are 47 MB).
    static let maxBytes = 1 << 30

    /// Reads an IDX file (plain or `.gz`) as a tensor of its stored type (uint8 for MNIST).
    public static func read(_ path: String) throws -> Tensor {
        let data = try GzipFile.data(path, what: "IDX file", maxBytes: maxBytes)
        do {
            return try data.withUnsafeBytes { try decode($0) }
        } catch let error as TorchError {
            throw TorchError("\(path) is not a valid IDX file: \(error.message)")
        }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Tensor {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else { throw TorchError("bad magic number") }
        let types: [UInt8: (DType, Int)] = [0x08: (.uint8, 1), 0x09: (.int8, 1), 0x0B: (.int16, 2), 0x0C: (.int32, 4),
                                            0x0D: (.float32, 4), 0x0E: (.float64, 8)]
        guard let (dtype, size) = types[bytes[2]] else { throw TorchError("unknown element type 0x\(String(bytes[2], radix: 16))") }
        let rank = Int(bytes[3])
        let start = 4 + 4 * rank
        guard rank > 0, bytes.count >= start else { throw TorchError("header is truncated") }
        let shape = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
        let expected = try Limits.byteCount(shape, elementSize: size, of: "the file")
        guard bytes.count - start == expected else {
            throw TorchError("shape \(shape) needs \(expected) data bytes, the file has \(bytes.count - start)")
        }
        if size == 1 { return try Tensor(bytes: UnsafeRawBufferPointer(rebasing: bytes[start...]), shape: shape, dtype: dtype) }
        // IDX stores multi-byte values big-endian; tensors are little-endian.
        var data = [UInt8](bytes[start...])
        if size > 1 {
            for i in stride(from: 0, to: data.count, by: size) { data[i..<(i + size)].reverse() }
        }
        return try data.withUnsafeBytes { try Tensor(bytes: $0, shape: shape, dtype: dtype) }
    }
}
