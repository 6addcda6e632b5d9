import Foundation
import TestSupport
import Testing
@testable import Torch

@Suite("PNG")
struct PNGTests {
    @Test("grayscale and RGB images round-trip")
    func roundTrips() throws {
        for channels in [1, 3, 4] {
            let pixels = (0..<(7 * 5 * channels)).map { UInt8(($0 * 37) % 256) }
            let image = try Image(width: 7, height: 5, channels: channels, pixels: pixels)
            #expect(try PNG.decode(PNG.encode(image)) == image)
        }
    }

    @Test("the Sub, Up, Average and Paeth row filters decode")
    func decodesFilters() throws {
        // A 4×4 RGB PNG whose rows use filters 1 (Sub), 2 (Up), 3 (Average) and 4 (Paeth), encoded by hand.
        let width = 4, height = 4, channels = 3
        let pixels = (0..<(width * height * channels)).map { UInt8(($0 * 53 + 11) % 256) }
        var raw = [UInt8]()
        for y in 0..<height {
            let filter = UInt8(y + 1)
            raw.append(filter)
            for x in 0..<(width * channels) {
                let value = Int(pixels[y * width * channels + x])
                let left = x >= channels ? Int(pixels[y * width * channels + x - channels]) : 0
                let up = y > 0 ? Int(pixels[(y - 1) * width * channels + x]) : 0
                let upLeft = (x >= channels && y > 0) ? Int(pixels[(y - 1) * width * channels + x - channels]) : 0
                let predicted: Int
                switch filter {
                case 1: predicted = left
                case 2: predicted = up
                case 3: predicted = (left + up) / 2
                default:
                    let p = left + up - upLeft
                    let (pa, pb, pc) = (abs(p - left), abs(p - up), abs(p - upLeft))
                    predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
                }
                raw.append(UInt8((value - predicted + 256) % 256))
            }
        }
        var data = Data(PNG.signature)
        var header = Data()
        header.append(bigEndian: UInt32(width))
        header.append(bigEndian: UInt32(height))
        header.append(contentsOf: [8, 2, 0, 0, 0])
        PNG.appendChunk("IHDR", header, to: &data)
        PNG.appendChunk("IDAT", try PNG.compress(raw), to: &data)
        PNG.appendChunk("IEND", Data(), to: &data)
        #expect(try PNG.decode(data).pixels == pixels)
    }

    @Test("tensors convert to images and back")
    func tensorConversion() throws {
        let t = try Tensor([0, 0.5, 1, 0.25] as [Float], shape: [1, 2, 2])
        let image = try Image(tensor: t)
        #expect(image.pixels == [0, 128, 255, 64])
        #expect(try (image.tensor() - t).abs().max().item() < 0.003)
        let rgb = try Image(width: 1, height: 1, channels: 3, pixels: [255, 0, 0])
        #expect(try rgb.grayscale().pixels == [76])
    }

    @Test("broken PNG files give clear errors")
    func brokenFiles() throws {
        let good = try PNG.encode(Image(width: 3, height: 3, channels: 1, pixels: Array(repeating: 9, count: 9)))
        #expect(errorMessage { _ = try PNG.decode(Data("GIF89a".utf8)) } == "missing the PNG signature")
        #expect(errorMessage { _ = try PNG.decode(good.prefix(40)) } != nil)
        #expect(errorMessage { _ = try PNG.read("/nonexistent.png") } == "image not found: /nonexistent.png")
        var damaged = good
        damaged[24] = 16
        #expect(errorMessage { _ = try PNG.decode(damaged) }?.contains("IHDR fails its CRC check") == true)
        // The same change with the chunk's CRC recomputed: a well-formed 16-bit PNG, which is not supported.
        var header = Data(good[16..<29])
        header[8] = 16
        var rebuilt = Data(good.prefix(8))
        PNG.appendChunk("IHDR", header, to: &rebuilt)
        rebuilt.append(good.suffix(from: 33))
        #expect(errorMessage { _ = try PNG.decode(rebuilt) }?.contains("only 8-bit PNGs") == true)
        #expect(errorMessage { _ = try PNG.decode(good.prefix(good.count - 12)) }?.contains("IEND chunk is missing") == true)
    }
}

