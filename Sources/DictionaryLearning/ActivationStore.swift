import Foundation
import Torch

/// Activations on disk as shards of safetensors files, so stores larger than memory can be
/// collected (in parts, on several machines: `--shard k/n`) and read back shuffled.
///
/// A shard is `part-K-of-N-NNNNN.safetensors` holding `activations` (rows, d) float32 and, in
/// its metadata, the source and hook point. Readers take every shard in the folder.
public enum ActivationStore {
    /// Which part of the inputs one collection run takes: batch b of inputs when b mod count == index.
    public struct Part: Sendable, Equatable {
        public var index: Int, count: Int
        public init(index: Int, count: Int) throws {
            guard count >= 1, (0..<count).contains(index) else { throw TorchError("a shard is k/n with 0 ≤ k < n, got \(index)/\(count)") }
            (self.index, self.count) = (index, count)
        }
        public static let whole = try! Part(index: 0, count: 1)

        /// Parses "k/n".
        public init(parsing text: String) throws {
            let pieces = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard pieces.count == 2, let k = pieces[0], let n = pieces[1] else { throw TorchError("--shard takes k/n (e.g. 0/4), got '\(text)'") }
            try self.init(index: k, count: n)
        }
    }

    /// Writes activation batches as they come, `rowsPerShard` rows a file.
    public final class Writer {
        public let folder: String, part: Part, rowsPerShard: Int, metadata: [String: String]
        var pending: [Tensor] = [], pendingRows = 0
        public private(set) var shards = 0, rows = 0
        var dimension: Int?

        public init(folder: String, part: Part = .whole, rowsPerShard: Int = 65_536, metadata: [String: String] = [:]) throws {
            guard rowsPerShard >= 1 else { throw TorchError("a shard holds at least one row") }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            (self.folder, self.part, self.rowsPerShard, self.metadata) = (folder, part, rowsPerShard, metadata)
        }

        static func prefix(_ part: Part) -> String { "part-\(part.index)-of-\(part.count)-" }

        public func append(_ activations: Tensor) throws {
            guard activations.rank == 2 else { throw TorchError("activations to store must be (rows, d), got \(activations.shape)") }
            if let dimension, dimension != activations.shape[1] { throw TorchError("rows of \(activations.shape[1]) values after rows of \(dimension)") }
            dimension = activations.shape[1]
            pending.append(try activations.to(.float32).contiguous())
            pendingRows += activations.shape[0]
            while pendingRows >= rowsPerShard { try flush(rowsPerShard) }
        }

        /// Writes what is left.
        public func finish() throws {
            if pendingRows > 0 { try flush(pendingRows) }
        }

        func flush(_ count: Int) throws {
            // A rerun of this part replaces its earlier shards, and only those, once it has rows to write.
            if shards == 0 {
                for old in try ActivationStore.shardFiles(in: folder) where (old as NSString).lastPathComponent.hasPrefix(Self.prefix(part)) {
                    try FileManager.default.removeItem(atPath: old)
                }
            }
            let all = try Tensor.cat(pending)
            let name = String(format: "%@%05d.safetensors", Self.prefix(part), shards)
            try Safetensors.write(["activations": try all.slice(dim: 0, start: 0, end: count).contiguous()], metadata: metadata,
                                  to: (folder as NSString).appendingPathComponent(name))
            pending = count < all.shape[0] ? [try all.slice(dim: 0, start: count, end: all.shape[0]).contiguous()] : []
            pendingRows -= count
            shards += 1
            rows += count
        }
    }

    static func shardFiles(in folder: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter { $0.hasPrefix("part-") && $0.hasSuffix(".safetensors") }.sorted().map { (folder as NSString).appendingPathComponent($0) }
    }

    /// Batches from a store, shuffled: shards are visited in a random order, `bufferShards` at a
    /// time, and batches drawn from the rows of the shards in memory; once a buffer's rows have
    /// all been served, the next shards are read. Never more than the buffer in memory.
    public final class Reader: ActivationBatches {
        public let files: [String]
        public let dimension: Int
        public let metadata: [String: String]
        let bufferShards: Int
        var order: [Int] = [], next = 0
        var buffer: Tensor?, permutation: [Int64] = [], served = 0

        /// With a `part` k/n, only shards k, k + n, k + 2n, … of the folder's (a data-parallel rank's own).
        public init(folder: String, bufferShards: Int = 2, part: Part = .whole) throws {
            let all = try ActivationStore.shardFiles(in: folder)
            guard !all.isEmpty else { throw TorchError("\(folder) holds no activation shards (part-K-of-N-*.safetensors); collect some with `glassbox activations collect`") }
            files = all.enumerated().filter { $0.offset % part.count == part.index }.map(\.element)
            guard !files.isEmpty else {
                throw TorchError("\(folder) holds \(all.count) shard(s), too few for \(part.count) ranks to read their own; collect with --rows-per-shard small enough for at least \(part.count)")
            }
            guard bufferShards >= 1 else { throw TorchError("the buffer holds at least one shard") }
            metadata = try Safetensors.readMetadata(files[0])
            guard let first = try Safetensors.read(files[0]).tensors["activations"], first.rank == 2 else {
                throw TorchError("\(files[0]) has no (rows, d) tensor named activations")
            }
            dimension = first.shape[1]
            self.bufferShards = bufferShards
        }

        /// Every row of the store, in shard order (for evaluation sets that fit in memory).
        public func all(limit: Int? = nil) throws -> Tensor {
            var parts: [Tensor] = [], rows = 0
            for file in files {
                if let limit, rows >= limit { break }
                let shard = try load(file)
                parts.append(shard)
                rows += shard.shape[0]
            }
            let all = try Tensor.cat(parts)
            return try limit.map { try all.slice(dim: 0, start: 0, end: Swift.min($0, all.shape[0])) } ?? all
        }

        func load(_ file: String) throws -> Tensor {
            guard let shard = try Safetensors.read(file).tensors["activations"], shard.rank == 2, shard.shape[1] == dimension else {
                throw TorchError("\(file) does not hold activations of \(dimension) values per row like the store's first shard")
            }
            guard try shard.allFinite() else { throw TorchError("\(file) holds NaN or infinite activations") }
            return try shard.to(.float32)
        }

        public func batch(_ size: Int, generator: Generator) throws -> Tensor {
            var pieces: [Tensor] = [], needed = size
            while needed > 0 {
                if buffer == nil || served >= permutation.count { try refill(generator) }
                let take = Swift.min(needed, permutation.count - served)
                let index = Array(permutation[served..<(served + take)])
                pieces.append(try buffer!.indexSelect(dim: 0, index: Tensor(index, shape: [take])))
                served += take
                needed -= take
            }
            return pieces.count == 1 ? pieces[0] : try Tensor.cat(pieces)
        }

        func refill(_ generator: Generator) throws {
            if next >= order.count {
                order = try Tensor.randperm(files.count, generator: generator).scalars(as: Int64.self).map { Int($0) }
                next = 0
            }
            let chosen = order[next..<Swift.min(order.count, next + bufferShards)]
            next += chosen.count
            buffer = try Tensor.cat(chosen.map { try load(files[$0]) })
            permutation = try Tensor.randperm(buffer!.shape[0], generator: generator).scalars(as: Int64.self)
            served = 0
        }
    }
}
