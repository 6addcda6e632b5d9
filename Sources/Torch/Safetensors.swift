import CTorch
import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length,
/// a JSON header naming each tensor's dtype, shape and byte range, then the raw
/// little-endian data. Optional string metadata lives under `__metadata__`.
public enum Safetensors {
    static let codes: [DType: String] = [
        .float32: "F32", .float64: "F64", .float16: "F16", .bfloat16: "BF16", .int64: "I64",
        .int32: "I32", .int16: "I16", .int8: "I8", .uint8: "U8", .bool: "BOOL",
    ]
    static let maxHeaderLength = 100_000_000

    /// The tensors and metadata of a safetensors file.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let data = try readFile(path, what: "safetensors file")
        do {
            return try decode(data)
        } catch let error as TorchError {
            throw TorchError("\(path) is not a valid safetensors file: \(error.message)")
        }
    }

    /// A file's string metadata alone, from its header: the tensors are not read.
    public static func readMetadata(_ path: String) throws -> [String: String] {
        let size = try Limits.regularFile(path, what: "safetensors file")
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw TorchError("cannot open it") }
            defer { try? handle.close() }
            let lengthBytes = [UInt8](try handle.read(upToCount: 8) ?? Data())
            let length = try headerLength(lengthBytes, fileSize: size)
            let (header, _) = try parseHeader(lengthBytes + [UInt8](try handle.read(upToCount: length) ?? Data()), fileSize: size)
            return try metadata(in: header)
        } catch let error as TorchError {
            throw TorchError("\(path) is not a valid safetensors file: \(error.message)")
        }
    }

    /// The header's length from the first 8 bytes, checked against the file's size.
    static func headerLength(_ bytes: [UInt8], fileSize: Int) throws -> Int {
        guard bytes.count >= 8, fileSize >= 8 else { throw TorchError("file has \(fileSize) bytes, shorter than the 8-byte header length") }
        let length = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(maxHeaderLength), length <= UInt64(fileSize - 8) else {
            throw TorchError("header claims \(length) bytes but the file has \(fileSize - 8) after the length")
        }
        return Int(length)
    }

    /// The JSON header of a file whose first bytes are `bytes`, and where its data begins.
    static func parseHeader(_ bytes: [UInt8], fileSize: Int) throws -> (header: [String: Any], end: Int) {
        let end = 8 + (try headerLength(bytes, fileSize: fileSize))
        guard bytes.count >= end, let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<end])),
              let header = json as? [String: Any] else {
            throw TorchError("header is not a JSON object")
        }
        return (header, end)
    }

    /// The string metadata under `__metadata__`.
    static func metadata(in header: [String: Any]) throws -> [String: String] {
        guard let entry = header["__metadata__"] else { return [:] }
        guard let values = entry as? [String: Any] else { throw TorchError("__metadata__ is not an object") }
        var metadata: [String: String] = [:]
        for (key, value) in values {
            guard let text = value as? String else { throw TorchError("metadata value for '\(key)' is not a string") }
            metadata[key] = text
        }
        return metadata
    }

    public static func decode(_ data: Data) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let bytes = [UInt8](data)
        let (header, payload) = try parseHeader(bytes, fileSize: bytes.count)
        let available = bytes.count - payload
        let metadata = try self.metadata(in: header)
        var tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, entry) in header where name != "__metadata__" {
            guard let info = entry as? [String: Any], let code = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2 else {
                throw TorchError("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = codes.first(where: { $0.value == code })?.key else {
                throw TorchError("tensor '\(name)' has unsupported dtype \(code)")
            }
            let shape = try shapeValues.map { value -> Int in
                guard let n = integer(value), n >= 0 else { throw TorchError("tensor '\(name)' has a bad shape \(shapeValues)") }
                return n
            }
            guard let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
                throw TorchError("tensor '\(name)' has data offsets that are not whole numbers: \(offsets)")
            }
            guard 0 <= begin, begin <= end, end <= available else {
                throw TorchError("tensor '\(name)' has data offsets outside the file (\(available) data bytes)")
            }
            let needed = try Limits.byteCount(shape, elementSize: dtype.byteSize, of: "tensor '\(name)'")
            guard needed == end - begin else {
                throw TorchError("tensor '\(name)' of shape \(shape) \(code) needs \(needed) bytes, offsets give \(end - begin)")
            }
            ranges.append((begin, end, name))
            tensors[name] = try bytes.withUnsafeBytes { raw in
                try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[(payload + begin)..<(payload + end)]), shape: shape, dtype: dtype)
            }
        }
        // As the reference implementation: the tensors' byte ranges, in order, tile the data exactly.
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var covered = 0
        for (begin, end, name) in ranges {
            guard begin == covered else {
                throw TorchError(begin < covered ? "tensor '\(name)' overlaps another tensor's bytes"
                                 : "bytes \(covered)..<\(begin) of the data belong to no tensor (a shifted header or a damaged file)")
            }
            covered = end
        }
        guard covered == available else {
            throw TorchError("\(available - covered) bytes after the last tensor belong to no tensor (a shifted header or a damaged file)")
        }
        return (tensors, metadata)
    }

    /// A JSON number that is a whole number (not a fraction).
    static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e18 else { return nil }
        return number.intValue
    }

    /// The header (its length, then JSON padded to 8 bytes) for tensors stored in name order, and
    /// those tensors on the CPU.
    static func header(_ tensors: [String: Tensor], metadata: [String: String]) throws -> (bytes: Data, tensors: [Tensor]) {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var ordered: [Tensor] = [], offset = 0
        for name in tensors.keys.sorted() {
            let tensor = try tensors[name]!.to(.cpu)
            guard let code = codes[tensor.dtype] else { throw TorchError("cannot store dtype \(tensor.dtype) in safetensors") }
            let size = tensor.count * tensor.dtype.byteSize
            header[name] = ["dtype": code, "shape": tensor.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
            ordered.append(tensor)
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad to 8 bytes so the data is aligned, as the reference implementation does.
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        return (out, ordered)
    }

    /// Encodes tensors (sorted by name) and string metadata.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        var (out, ordered) = try header(tensors, metadata: metadata)
        for tensor in ordered { out.append(contentsOf: try tensor.bytes()) }
        return out
    }

    /// Writes a safetensors file atomically, each tensor's bytes straight from its memory.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        let (bytes, ordered) = try header(tensors, metadata: metadata)
        try AtomicFile.write(to: path) { descriptor in
            try bytes.withUnsafeBytes { try AtomicFile.write($0, to: descriptor) }
            for tensor in ordered { try check(gbt_write_data(tensor.handle, descriptor)) }
        }
    }
}
