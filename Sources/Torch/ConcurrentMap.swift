import CTorch
import Foundation

extension Torch {
    /// `transform(0..<count)` computed by `workers` threads at once, each running libtorch and the
    /// BLAS on one thread, with items handed out in order as workers come free.
    ///
    /// For independent pieces of inference (batches of texts): on 2 cores, two single-threaded
    /// workers beat one two-threaded pass because every operation of the latter hands work to the
    /// other thread and waits for it (MiniLM: see `glassbox bench text`). Worker 0 is the calling
    /// thread, so `progress(done)` is called there (last with `count`) and it alone sees the caller's task-local values
    /// (hooks, progress observer); gradient recording is per thread, so `transform` sets `noGrad`
    /// itself. The results are the same as a serial loop's whatever the interleaving. The first
    /// error thrown stops further items and is rethrown once every worker has finished.
    public static func concurrentMap<T: Sendable>(_ count: Int, workers: Int, progress: (Int) -> Void = { _ in },
                                                  _ transform: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let state = SharedState<T>(count: count)
        let workers = Swift.max(1, Swift.min(workers, count))
        if workers > 1 { SingleThreadedBLAS.enter() }
        defer { if workers > 1 { SingleThreadedBLAS.leave() } }

        @Sendable func work(onCallingThread: Bool, progress: (Int) -> Void) {
            if workers > 1 { _ = gbt_set_calling_thread_threads(1) }
            defer { if workers > 1 { _ = gbt_set_calling_thread_threads(0) } }
            while let index = state.nextIndex() {
                do {
                    let result = try transform(index)
                    let done = state.store(result, at: index)
                    if onCallingThread { progress(done) }
                } catch {
                    state.fail(error)
                }
            }
        }
        let finished = DispatchGroup()
        for _ in 1..<workers {
            finished.enter()
            let thread = Thread {
                work(onCallingThread: false, progress: { _ in })
                finished.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        var reported = 0
        work(onCallingThread: true, progress: { reported = $0; progress($0) })
        finished.wait()
        let results = try state.results()
        if reported < count { progress(count) }
        return results
    }
}

/// The hand-out counter, the results and the first error of one `concurrentMap`, behind a lock.
private final class SharedState<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0, done = 0
    private var slots: [T?]
    private var error: Error?

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func nextIndex() -> Int? {
        lock.withLock {
            guard error == nil, next < slots.count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func store(_ result: T, at index: Int) -> Int {
        lock.withLock {
            slots[index] = result
            done += 1
            return done
        }
    }

    func fail(_ error: Error) { lock.withLock { if self.error == nil { self.error = error } } }

    func results() throws -> [T] {
        try lock.withLock {
            if let error { throw error }
            return slots.map { $0! }
        }
    }
}

extension Torch {
    /// Runs `body` with OpenBLAS on one thread. For many small matrix products between
    /// libtorch's own multi-threaded operators (one backward pass per Jacobian row): OpenBLAS's
    /// threads keep spinning on `sched_yield` after each product and take the cores from
    /// OpenMP's (a third of the time of `glassbox bench geometry` on 2 cores).
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        SingleThreadedBLAS.enter()
        defer { SingleThreadedBLAS.leave() }
        return try body()
    }

    /// Runs `body` with libtorch's operators on `count` threads on this thread only (other
    /// threads keep theirs); the previous setting comes back after.
    public static func withIntraOpThreads<R>(_ count: Int, _ body: () throws -> R) throws -> R {
        guard count >= 1 else { throw TorchError("thread count must be at least 1") }
        let previous = gbt_get_calling_thread_threads()
        try check(gbt_set_calling_thread_threads(Int32(count)), "set the calling thread's threads")
        defer { _ = gbt_set_calling_thread_threads(previous) }
        return try body()
    }
}

/// OpenBLAS's thread count is one per process: the first `concurrentMap` running sets it to one and
/// the last to finish restores it, so overlapping calls from several threads cannot leave it at one.
enum SingleThreadedBLAS {
    nonisolated(unsafe) private static var users = 0, saved: Int32 = -1
    private static let lock = NSLock()

    static func enter() {
        lock.withLock {
            if users == 0 { saved = gbt_blas_threads(); gbt_set_blas_threads(1) }
            users += 1
        }
    }

    /// The count OpenBLAS runs with when no one has set it to one (what `leave` restores).
    static var restingCount: Int32 { lock.withLock { users > 0 ? saved : gbt_blas_threads() } }

    /// Whether OpenBLAS is on one thread exactly while someone is inside `enter`/`leave`.
    static var isConsistent: Bool { lock.withLock { users == 0 || gbt_blas_threads() == 1 } }

    static func leave() {
        lock.withLock {
            users -= 1
            if users == 0 { gbt_set_blas_threads(saved) }
        }
    }
}

/// Values handed to `Torch.concurrentMap`'s workers, which only read them (a model, say).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
