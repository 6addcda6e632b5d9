import Foundation

/// NumPy's `.npy` format (versions 1–3), little-endian, C or Fortran order.
public enum NumpyFile {
    static let descriptors: [String: DType] = [
        "<f4": .float32, "<f8": .float64, "<f2": .float16, "<i8": .int64, "<i4": .int32, "<i2": .int16,
        "|i1": .int8, "|u1": .uint8, "|b1": .bool,
    ]

    public static func read(_ path: String) throws -> Tensor {
        let data = try readFile(path, what: ".npy file")
        do {
            return try decode(data)
        } catch let error as TorchError {
            throw TorchError("\(path) is not a valid .npy file: \(error.message)")
        }
    }

    public static func decode(_ data: Data) throws -> Tensor {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw TorchError("missing the \\x93NUMPY magic") }
        let major = bytes[6]
        let (lengthSize, headerStart): (Int, Int) = major == 1 ? (2, 10) : (4, 12)
        guard [1, 2, 3].contains(major), bytes.count >= headerStart else { throw TorchError("unsupported version \(major)") }
        let headerLength = (0..<lengthSize).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        guard headerStart + headerLength <= bytes.count else { throw TorchError("header runs past the end of the file") }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else {
            throw TorchError("header is not text")
        }
        let descr = try field("descr", in: header)
        guard let dtype = descriptors[descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))] else {
            throw TorchError("unsupported dtype \(descr) (supported: \(descriptors.keys.sorted().joined(separator: " ")))")
        }
        let order = try field("fortran_order", in: header)
        guard order == "True" || order == "False" else { throw TorchError("fortran_order must be True or False, got \(order)") }
        let fortran = order == "True"
        let shape = try parseShape(field("shape", in: header))
        let start = headerStart + headerLength
        let expected = try Limits.byteCount(shape, elementSize: dtype.byteSize, of: "the array")
        guard bytes.count - start == expected else {
            throw TorchError("shape \(shape) \(descr) needs \(expected) data bytes, the file has \(bytes.count - start)")
        }
        let stored = fortran ? Array(shape.reversed()) : shape
        let tensor = try bytes.withUnsafeBytes { raw in
            try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[start...]), shape: stored, dtype: dtype)
        }
        return fortran ? try tensor.permuted(Array((0..<shape.count).reversed())).contiguous() : tensor
    }

    /// A Python tuple of sizes: "()", "(5,)", "(2, 3)"; no empty or negative entries.
    static func parseShape(_ text: String) throws -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw TorchError("bad shape \(text)") }
        var parts = text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count > 1, parts.last == "" { parts.removeLast() }  // "(5,)"
        if parts == [""] { return [] }
        return try parts.map { part in
            guard let n = Int(part), n >= 0 else { throw TorchError("bad shape \(text)") }
            return n
        }
    }

    /// The text of one key's value in the header's Python dict literal.
    static func field(_ key: String, in header: String) throws -> String {
        guard let keyRange = header.range(of: "'\(key)':") else { throw TorchError("header lacks '\(key)'") }
        let rest = header[keyRange.upperBound...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { throw TorchError("unterminated shape") }
            return String(rest[...close])
        }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }

    public static func encode(_ tensor: Tensor) throws -> Data {
        let tensor = try tensor.to(.cpu)
        guard let descr = descriptors.first(where: { $0.value == tensor.dtype })?.key else {
            throw TorchError("cannot store dtype \(tensor.dtype) in .npy")
        }
        let shape = tensor.shape
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Total header size is a multiple of 64 bytes, ending in a newline (format spec).
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        out.append(UInt8(header.utf8.count & 0xFF))
        out.append(UInt8(header.utf8.count >> 8))
        out.append(Data(header.utf8))
        out.append(contentsOf: try tensor.bytes())
        return out
    }

    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }
}
