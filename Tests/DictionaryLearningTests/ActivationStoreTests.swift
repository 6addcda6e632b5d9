import Foundation
import Testing
import TestSupport
@testable import DictionaryLearning
import Torch

@Suite("Activation store")
struct ActivationStoreTests {
    @Test("rows written in shards come back shuffled, each once per pass; parts coexist and a rerun replaces only its own")
    func roundTrip() throws {
        let folder = try temporaryFolder().path
        let rows = try Tensor.arange(0, 1000).unsqueezed(dim: 1).to(.float32) * Tensor.ones([1, 3])
        let writer = try ActivationStore.Writer(folder: folder, part: .init(index: 0, count: 2), rowsPerShard: 300, metadata: ["glassbox.hook": "9"])
        for start in stride(from: 0, to: 1000, by: 128) { try writer.append(rows.slice(dim: 0, start: start, end: min(1000, start + 128))) }
        try writer.finish()
        #expect(writer.shards == 4 && writer.rows == 1000)
        let reader = try ActivationStore.Reader(folder: folder, bufferShards: 2)
        #expect(reader.dimension == 3 && reader.metadata["glassbox.hook"] == "9")
        let generator = Generator(seed: 1)
        let drawn = try (0..<10).map { _ in try reader.batch(100, generator: generator) }
        let values = try Tensor.cat(drawn).select(dim: 1, index: 0).scalars(as: Float.self).map { Int($0) }
        #expect(values.sorted() == Array(0..<1000))
        #expect(values != Array(0..<1000))
        #expect(try reader.all().shape == [1000, 3])
        // Part 1 of 2 adds its shards; rerunning part 0 replaces part 0's.
        let other = try ActivationStore.Writer(folder: folder, part: .init(index: 1, count: 2), rowsPerShard: 500)
        try other.append(rows.slice(dim: 0, start: 0, end: 200)); try other.finish()
        let again = try ActivationStore.Writer(folder: folder, part: .init(index: 0, count: 2), rowsPerShard: 1000)
        try again.append(rows.slice(dim: 0, start: 0, end: 10)); try again.finish()
        #expect(try ActivationStore.Reader(folder: folder).all().shape == [210, 3])
        // Data-parallel ranks read disjoint shards (two files now: part 0's and part 1's); a third rank has none.
        let ranks = try (0..<2).map { try ActivationStore.Reader(folder: folder, part: .init(index: $0, count: 2)) }
        #expect(ranks.map(\.files.count) == [1, 1] && Set(ranks.flatMap(\.files)).count == 2)
        #expect { try ActivationStore.Reader(folder: folder, part: .init(index: 2, count: 3)) } throws: {
            ($0 as? TorchError)?.message.contains("holds 2 shard(s), too few for 3 ranks") == true
        }
    }

    @Test("bad parts, empty folders, mixed widths and NaN shards are refused with what to do")
    func refusals() throws {
        #expect(throws: TorchError.self) { try ActivationStore.Part(parsing: "3/3") }
        #expect(throws: TorchError.self) { try ActivationStore.Part(parsing: "x") }
        #expect(try ActivationStore.Part(parsing: "1/4") == ActivationStore.Part(index: 1, count: 4))
        let folder = try temporaryFolder().path
        #expect { try ActivationStore.Reader(folder: folder) } throws: { ($0 as? TorchError)?.message.contains("glassbox activations collect") == true }
        let writer = try ActivationStore.Writer(folder: folder)
        try writer.append(Tensor.ones([2, 3]))
        #expect(throws: TorchError.self) { try writer.append(Tensor.ones([2, 4])) }
        try writer.append(Tensor.full([2, 3], value: .nan))
        try writer.finish()
        let reader = try ActivationStore.Reader(folder: folder)
        #expect { try reader.all() } throws: { ($0 as? TorchError)?.message.contains("NaN") == true }
    }
}
