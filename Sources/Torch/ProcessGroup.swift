import CTorch
import Foundation

/// Processes that train one model together (data parallelism), joined on libtorch's own
/// distributed engine: a c10d TCP store for the rendezvous (rank 0 hosts it) and Gloo's
/// all-reduce and broadcast over TCP, so the same binary runs on one machine or several.
///
/// Collectives block until every rank has called them; a rank that never arrives or dies turns
/// into an error on the others within `timeout` (a closed connection, at once).
public final class ProcessGroup: @unchecked Sendable {
    let handle: gbt_process_group
    public let rank: Int, worldSize: Int

    /// Whether this build can join process groups (it needs libgloo-dev's headers at build time).
    public static var isAvailable: Bool { gbt_process_group_available() != 0 }

    /// Joins the group whose rank 0 listens at `address`:`port`; waits up to `timeout` seconds for every rank.
    public init(address: String, port: Int, rank: Int, worldSize: Int, timeout: Double = 300) throws {
        guard worldSize >= 1, (0..<worldSize).contains(rank) else { throw TorchError("a process group needs 0 ≤ rank < world size, got rank \(rank) of \(worldSize)") }
        guard (1...65_535).contains(port) else { throw TorchError("the group's port must be 1…65535, got \(port)") }
        guard timeout > 0, timeout.isFinite else { throw TorchError("the group's timeout must be a positive number of seconds") }
        _ = engineDefaults
        var out: gbt_process_group?
        let status = gbt_process_group_new(address, Int32(port), Int32(rank), Int32(worldSize), Int64(timeout * 1000), &out)
        guard status == 0, let out else {
            let detail = String(cString: gbt_last_error())
            guard Self.isAvailable else { throw TorchError(detail) }
            throw TorchError("""
                rank \(rank) of \(worldSize) could not join the group at \(address):\(port) within \(Self.seconds(timeout)): \(Self.firstLine(detail)). \
                Start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE and its own RANK (0 hosts the group; its port must be free)
                """)
        }
        handle = out
        (self.rank, self.worldSize) = (rank, worldSize)
    }

    /// Joins the group described by torchrun's environment variables: MASTER_ADDR, MASTER_PORT,
    /// WORLD_SIZE and RANK.
    public convenience init(environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Double = 300) throws {
        func value(_ name: String) throws -> String {
            guard let text = environment[name], !text.isEmpty else {
                throw TorchError("data-parallel training reads MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK (as torchrun sets them); \(name) is not set")
            }
            return text
        }
        func number(_ name: String) throws -> Int {
            let text = try value(name)
            guard let n = Int(text) else { throw TorchError("\(name) must be a whole number, got '\(text)'") }
            return n
        }
        try self.init(address: value("MASTER_ADDR"), port: number("MASTER_PORT"), rank: number("RANK"), worldSize: number("WORLD_SIZE"), timeout: timeout)
    }

    deinit { gbt_process_group_free(handle) }

    public enum Reduction: Sendable { case sum, maximum }

    /// Replaces `tensor`'s values (contiguous, on the CPU) by their sum or maximum over every rank.
    public func allReduce(_ tensor: Tensor, _ reduction: Reduction = .sum) throws {
        try collective("all-reduce", tensor) { gbt_process_group_all_reduce(handle, tensor.handle, reduction == .maximum ? 1 : 0) }
    }

    /// Replaces `tensor`'s values (contiguous, on the CPU, the same shape everywhere) by rank `root`'s.
    public func broadcast(_ tensor: Tensor, from root: Int = 0) throws {
        guard (0..<worldSize).contains(root) else { throw TorchError("no rank \(root) in a group of \(worldSize)") }
        try collective("broadcast", tensor) { gbt_process_group_broadcast(handle, tensor.handle, Int32(root)) }
    }

    /// Rank `root`'s bytes on every rank (`bytes` is read on the root only).
    public func broadcast(bytes: [UInt8], from root: Int = 0) throws -> [UInt8] {
        let count = try Tensor([Int64(rank == root ? bytes.count : 0)], shape: [1])
        try broadcast(count, from: root)
        let total = Int(try count.scalars(as: Int64.self)[0])
        let buffer = try rank == root ? Tensor(bytes, shape: [total]) : Tensor.zeros([total], dtype: .uint8)
        try broadcast(buffer, from: root)
        return try buffer.bytes()
    }

    func collective(_ name: String, _ tensor: Tensor, _ call: () -> Int32) throws {
        guard call() == 0 else {
            throw TorchError("""
                the \(name) across \(worldSize) ranks failed on rank \(rank): \(Self.firstLine(String(cString: gbt_last_error()))). \
                A peer stopped or lost its connection; restart every rank (training resumes from its checkpoint with --resume)
                """)
        }
    }

    static func firstLine(_ text: String) -> String { String(text.split(separator: "\n").first ?? "unknown error") }
    static func seconds(_ value: Double) -> String { value == value.rounded() ? "\(Int(value)) s" : "\(value) s" }
}
