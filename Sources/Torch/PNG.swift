import CTorch
import Foundation


/// An 8-bit image: `channels` interleaved samples per pixel, row-major.
public struct Image: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// 1 (gray), 3 (RGB) or 4 (RGBA).
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard [1, 3, 4].contains(channels), width > 0, height > 0, pixels.count == width * height * channels else {
            throw TorchError("an image of \(width)×\(height)×\(channels) needs \(width * height * channels) samples, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image from a (H, W), (1, H, W) or (3, H, W) tensor of values in [0, 1].
    public init(tensor: Tensor) throws {
        var t = tensor
        if t.rank == 2 { t = try t.unsqueezed(dim: 0) }
        guard t.rank == 3, [1, 3].contains(t.shape[0]) else {
            throw TorchError("an image tensor must be (H, W), (1, H, W) or (3, H, W); got \(tensor.shape)")
        }
        let bytes = try (t.permuted([1, 2, 0]).clamp(min: 0, max: 1) * 255.0).rounded().to(.uint8).scalars(as: UInt8.self)
        try self.init(width: t.shape[2], height: t.shape[1], channels: t.shape[0], pixels: bytes)
    }

    /// A (C, H, W) float32 tensor in [0, 1]; alpha is dropped.
    public func tensor() throws -> Tensor {
        let t = try Tensor(pixels, shape: [height, width, channels]).permuted([2, 0, 1]).to(.float32) / 255.0
        return channels == 4 ? try t.slice(dim: 0, start: 0, end: 3) : t
    }

    /// The image in gray (luma, ITU-R BT.601 weights, as PIL's "L" mode).
    public func grayscale() throws -> Image {
        guard channels != 1 else { return self }
        var gray = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = Double(pixels[i * channels]), g = Double(pixels[i * channels + 1]), b = Double(pixels[i * channels + 2])
            gray[i] = UInt8((0.299 * r + 0.587 * g + 0.114 * b).rounded().clamped(to: 0...255))
        }
        return try Image(width: width, height: height, channels: 1, pixels: gray)
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

/// PNG encoding and decoding (8-bit gray, gray+alpha, RGB, RGBA and palette images, not interlaced).
public enum PNG {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    public static func encode(_ image: Image) throws -> Data {
        let colorType: UInt8 = image.channels == 1 ? 0 : image.channels == 3 ? 2 : 6
        let stride = image.width * image.channels
        var raw = [UInt8]()
        raw.reserveCapacity((stride + 1) * image.height)
        for y in 0..<image.height {
            raw.append(0) // filter type None
            raw.append(contentsOf: image.pixels[(y * stride)..<((y + 1) * stride)])
        }
        var out = Data(signature)
        var header = Data()
        header.append(bigEndian: UInt32(image.width))
        header.append(bigEndian: UInt32(image.height))
        header.append(contentsOf: [8, colorType, 0, 0, 0])
        appendChunk("IHDR", header, to: &out)
        appendChunk("IDAT", try compress(raw), to: &out)
        appendChunk("IEND", Data(), to: &out)
        return out
    }

    public static func write(_ image: Image, to path: String) throws {
        try AtomicFile.write(encode(image), to: path)
    }

    /// The most pixels a PNG may declare when no model fixes its size (64 megapixels).
    public static let maximumPixels = 1 << 26

    public static func read(_ path: String) throws -> Image {
        let data = try readFile(path, what: "image")
        do {
            return try decode(data)
        } catch let error as TorchError {
            throw TorchError("\(path) is not a readable PNG: \(error.message)")
        }
    }

    /// The size a PNG declares, from its first 24 bytes: checked before decoding, so a small file
    /// claiming a huge image costs nothing.
    public static func size(of path: String) throws -> (width: Int, height: Int) {
        try Limits.regularFile(path, what: "image")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TorchError("cannot read image \(path)") }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 24)) ?? Data())
        guard head.count == 24, Array(head[0..<8]) == signature, String(decoding: head[12..<16], as: UTF8.self) == "IHDR" else {
            throw TorchError("\(path) is not a readable PNG: it does not start with a PNG signature and header")
        }
        return (Int(head.readBigEndian(at: 16)), Int(head.readBigEndian(at: 20)))
    }

    public static func decode(_ data: Data) throws -> Image {
        let bytes = [UInt8](data)
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw TorchError("missing the PNG signature") }
        var offset = 8
        var width = 0, height = 0, depth = 0, colorType = 0, interlace = 0
        var compressed = [UInt8]()
        var palette = [UInt8]()
        var sawEnd = false
        while offset + 8 <= bytes.count {
            let length = Int(bytes.readBigEndian(at: offset))
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard length >= 0, offset + 12 + length <= bytes.count else { throw TorchError("chunk \(type) is truncated") }
            let body = bytes[(offset + 8)..<(offset + 8 + length)]
            let crc = bytes[(offset + 4)..<(offset + 8 + length)].withUnsafeBytes {
                gbt_crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, $0.count)
            }
            guard crc == bytes.readBigEndian(at: offset + 8 + length) else { throw TorchError("chunk \(type) fails its CRC check (the file is damaged)") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw TorchError("bad IHDR") }
                width = Int(bytes.readBigEndian(at: offset + 8))
                height = Int(bytes.readBigEndian(at: offset + 12))
                depth = Int(body[body.startIndex + 8])
                colorType = Int(body[body.startIndex + 9])
                interlace = Int(body[body.startIndex + 12])
                guard width > 0, height > 0, width <= 1 << 16, height <= 1 << 16, width * height <= maximumPixels else {
                    throw TorchError("it declares \(width)×\(height) pixels; images up to \(maximumPixels >> 20) megapixels are read")
                }
            case "PLTE": palette = Array(body)
            case "IDAT": compressed.append(contentsOf: body)
            case "IEND": sawEnd = true
            default: break
            }
            offset += 12 + length
            if sawEnd { break }
        }
        guard sawEnd else { throw TorchError("the IEND chunk is missing (the file is truncated)") }
        guard width > 0, height > 0 else { throw TorchError("the IHDR chunk is missing") }
        guard depth == 8 else { throw TorchError("only 8-bit PNGs are supported (this one has \(depth)-bit samples)") }
        guard interlace == 0 else { throw TorchError("interlaced PNGs are not supported; re-save it without interlacing") }
        let samples: Int
        switch colorType {
        case 0: samples = 1
        case 2: samples = 3
        case 3: samples = 1
        case 4: samples = 2
        case 6: samples = 4
        default: throw TorchError("unknown colour type \(colorType)")
        }
        let stride = width * samples
        let raw = try decompress(compressed, expected: (stride + 1) * height)
        guard raw.count == (stride + 1) * height else { throw TorchError("image data is truncated") }
        var pixels = [UInt8](repeating: 0, count: stride * height)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let line = y * (stride + 1) + 1
            for x in 0..<stride {
                let value = raw[line + x]
                let left = x >= samples ? Int(pixels[y * stride + x - samples]) : 0
                let up = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
                let upLeft = (x >= samples && y > 0) ? Int(pixels[(y - 1) * stride + x - samples]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = left
                case 2: predicted = up
                case 3: predicted = (left + up) / 2
                case 4:
                    let p = left + up - upLeft
                    let (pa, pb, pc) = (abs(p - left), abs(p - up), abs(p - upLeft))
                    predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
                default: throw TorchError("unknown filter type \(filter)")
                }
                pixels[y * stride + x] = UInt8(truncatingIfNeeded: Int(value) + predicted)
            }
        }
        switch colorType {
        case 3:
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            for (i, index) in pixels.enumerated() {
                guard Int(index) * 3 + 2 < palette.count else { throw TorchError("palette index out of range") }
                rgb[i * 3..<(i * 3 + 3)] = palette[(Int(index) * 3)..<(Int(index) * 3 + 3)]
            }
            return try Image(width: width, height: height, channels: 3, pixels: rgb)
        case 4:
            // Gray with alpha: keep the gray.
            return try Image(width: width, height: height, channels: 1, pixels: Swift.stride(from: 0, to: pixels.count, by: 2).map { pixels[$0] })
        default:
            return try Image(width: width, height: height, channels: samples, pixels: pixels)
        }
    }

    static func appendChunk(_ type: String, _ body: Data, to out: inout Data) {
        out.append(bigEndian: UInt32(body.count))
        let typed = Data(type.utf8) + body
        out.append(typed)
        let crc = typed.withUnsafeBytes { gbt_crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
        out.append(bigEndian: crc)
    }

    static func compress(_ raw: [UInt8]) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard gbt_zlib_compress(raw, raw.count, 6, &out, &length) == 0, let out else {
            throw TorchError(String(cString: gbt_last_error()))
        }
        defer { gbt_buffer_free(out) }
        return Data(bytes: out, count: length)
    }

    static func decompress(_ data: [UInt8], expected: Int) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard gbt_zlib_decompress(data, data.count, expected, &out, &length) == 0, let out else {
            throw TorchError(String(cString: gbt_last_error()))
        }
        defer { gbt_buffer_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: length))
    }
}

extension Data {
    mutating func append(bigEndian value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension Array where Element == UInt8 {
    func readBigEndian(at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(self[offset + $1]) }
    }
}
