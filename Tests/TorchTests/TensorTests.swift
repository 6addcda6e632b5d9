import Foundation
import Testing
import TestSupport
import CTorch
@testable import Torch

@Suite("Tensors")
struct TensorTests {
    @Test("creation from Swift arrays checks the element count")
    func creationChecksCount() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        #expect(t.shape == [2, 3])
        #expect(t.dtype == .float32)
        #expect(errorMessage { _ = try Tensor([1, 2, 3] as [Float], shape: [2, 2]) } == "cannot make a tensor of shape [2, 2] (4 elements) from 3 values")
    }

    @Test("broadcasting arithmetic and PyTorch's type promotion")
    func broadcastingAndPromotion() throws {
        let a = try Tensor([1, 2, 3] as [Float], shape: [3, 1])
        let b = try Tensor([10, 20] as [Float], shape: [1, 2])
        #expect(try (a + b).scalars(as: Float.self) == [11, 21, 12, 22, 13, 23])
        #expect(try (Tensor([1, 2] as [Int64]) * 2.5).dtype == .float32)
        #expect(try (Tensor([1, 2] as [Int64]) + 2.0).dtype == .int64)
        #expect(try (Tensor([1.0] as [Double]) * 2.0).dtype == .float64)
        #expect(try (1.0 - Tensor([0.25] as [Float])).scalars(as: Float.self) == [0.75])
        #expect(try (Tensor([1, 2] as [Int64]) / 4.0).scalars(as: Float.self) == [0.25, 0.5])
    }

    @Test("shape errors name both shapes")
    func shapeErrorsNameShapes() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
        let message = try #require(errorMessage { _ = try a.matmul(b) })
        #expect(message.contains("[2, 3]") && message.contains("[4, 5]") && message.contains("cannot be multiplied"))
        let add = try #require(errorMessage { _ = try a + Tensor.zeros([3, 2]) })
        #expect(add.contains("add of [2, 3] float32 and [3, 2] float32"))
        #expect(errorMessage { _ = try a.reshaped([7]) }?.contains("reshape [2, 3] to [7]") == true)
        #expect(errorMessage { _ = try a.scalars(as: Int64.self) }?.contains("holds float32, not int64") == true)
    }

    @Test("reductions, argmax and norms")
    func reductions() throws {
        let t = try Tensor([1, -2, 3, -4, 5, -6] as [Float], shape: [2, 3])
        #expect(try t.sum().item() == -3)
        #expect(try t.sum(dims: [1]).scalars(as: Float.self) == [2, -5])
        #expect(try t.mean(dims: [0], keepDims: true).shape == [1, 3])
        #expect(try t.max().item() == 5)
        #expect(try t.argmax(dim: 1).scalars(as: Int64.self) == [2, 1])
        #expect(try t.abs().argmax().itemInt() == 5)
        #expect(try abs(t.norm().item() - 9.539392) < 1e-5)
        #expect(try t.norm(1, dims: [1]).scalars(as: Float.self) == [6, 15])
        #expect(try t.prod(dims: [0, 1]).item() == -720)
        #expect(try abs(Tensor([1, 2, 3, 4] as [Double]).std().item() - 1.2909944487358056) < 1e-12)
    }

    @Test("softmax rows sum to one and log-softmax agrees")
    func softmax() throws {
        let x = try Tensor.randn([4, 7], generator: Generator(seed: 1))
        #expect(try (x.softmax(dim: 1).sum(dims: [1]) - 1.0).abs().max().item() < 1e-6)
        #expect(try (x.logSoftmax(dim: 1).exp() - x.softmax(dim: 1)).abs().max().item() < 1e-6)
    }

    @Test("indexing, slicing, gather, scatter and where")
    func indexing() throws {
        let t = try Tensor.arange(0, 12, dtype: .float32).reshaped([3, 4])
        #expect(try t[1].scalars(as: Float.self) == [4, 5, 6, 7])
        #expect(try t[1..<3].shape == [2, 4])
        #expect(try t.slice(dim: 1, start: 0, end: 4, step: 2).scalars(as: Float.self) == [0, 2, 4, 6, 8, 10])
        #expect(try t.indexSelect(dim: 0, index: Tensor([2, 0] as [Int64])).scalars(as: Float.self) == [8, 9, 10, 11, 0, 1, 2, 3])
        #expect(try t.gather(dim: 1, index: Tensor([3, 0, 1] as [Int64], shape: [3, 1])).scalars(as: Float.self) == [3, 4, 9])
        let scattered = try Tensor.zeros([4]).scatter(dim: 0, index: Tensor([1, 1, 3] as [Int64]), source: Tensor([1, 2, 5] as [Float]), accumulate: true)
        #expect(try scattered.scalars(as: Float.self) == [0, 3, 0, 5])
        #expect(try Tensor.where(t.gt(5), t, t.zerosLike()).sum().item() == 6 + 7 + 8 + 9 + 10 + 11)
        #expect(try t.clamp(min: 2, max: 4).max().item() == 4)
        #expect(try t.maskedFill(t.lt(2), with: -1).sum().item() == 66 - 1 - 2)
        #expect(errorMessage { _ = try t[5] }?.contains("select index 5 of dim 0 of [3, 4]") == true)
    }

    @Test("cat, stack, permute and padding")
    func joining() throws {
        let a = try Tensor.ones([2, 3]), b = try Tensor.zeros([1, 3])
        #expect(try Tensor.cat([a, b]).shape == [3, 3])
        #expect(try Tensor.stack([a, a], dim: 1).shape == [2, 2, 3])
        #expect(try a.permuted([1, 0]).shape == [3, 2])
        #expect(try a.padded([1, 2]).shape == [2, 6])
        #expect(errorMessage { _ = try Tensor.cat([]) } != nil)
        #expect(errorMessage { _ = try Tensor.cat([a, Tensor.ones([2, 2])]) }?.contains("[2, 3], [2, 2]") == true)
    }

    @Test("seeded generators repeat their draws")
    func seededGenerators() throws {
        let first = try Tensor.randn([5], generator: Generator(seed: 42)).scalars(as: Float.self)
        let second = try Tensor.randn([5], generator: Generator(seed: 42)).scalars(as: Float.self)
        let other = try Tensor.randn([5], generator: Generator(seed: 43)).scalars(as: Float.self)
        #expect(first == second)
        #expect(first != other)
        let perm = try Tensor.randperm(10, generator: Generator(seed: 1)).scalars(as: Int64.self)
        #expect(perm.sorted() == Array(0..<10))
    }

    @Test("SVD reconstructs the matrix and least squares solves an exact system")
    func linearAlgebra() throws {
        let g = Generator(seed: 5)
        let a = try Tensor.randn([6, 4], dtype: .float64, generator: g)
        let (u, s, vh) = try a.svd()
        let rebuilt = try (u * s.unsqueezed(dim: 0)).matmul(vh)
        #expect(try (rebuilt - a).abs().max().item() < 1e-12)
        let x = try Tensor.randn([4, 2], dtype: .float64, generator: g)
        let solution = try a.leastSquares(a.matmul(x))
        #expect(try (solution - x).abs().max().item() < 1e-10)
    }

    @Test("finite checks catch NaN and infinity")
    func finiteChecks() throws {
        #expect(try Tensor([1, 2] as [Float]).allFinite())
        #expect(try !Tensor([1, .nan] as [Float]).allFinite())
        #expect(try !Tensor([.infinity] as [Float]).allFinite())
    }

    @Test("conv2d and pooling report bad input shapes")
    func convolutionShapeErrors() throws {
        let weight = try Tensor.zeros([4, 1, 3, 3])
        let message = try #require(errorMessage { _ = try Functional.conv2d(Tensor.zeros([2, 3, 8, 8]), weight: weight, bias: nil) })
        #expect(message.contains("conv2d on input [2, 3, 8, 8] with weight [4, 1, 3, 3]"))
        #expect(try Functional.maxPool2d(Tensor.zeros([1, 1, 8, 8]), kernelSize: (2, 2)).shape == [1, 1, 4, 4])
    }

    @Test("a missing TorchScript file and a corrupt one fail cleanly")
    func torchScriptErrors() throws {
        #expect(errorMessage { _ = try ScriptModule(contentsOf: "/nonexistent.pt") }?.contains("not found") == true)
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bad.pt").path
        try Data("PK garbage".utf8).write(to: URL(fileURLWithPath: path))
        #expect(errorMessage { _ = try ScriptModule(contentsOf: path) }?.contains("cannot load TorchScript model") == true)
    }
}

@Suite("Engine")
struct EngineTests {
    @Test("libtorch uses every core unless told otherwise")
    func threadsDefaultToCores() throws {
        _ = try Tensor.zeros([1])
        #expect(Torch.threads == max(ProcessInfo.processInfo.activeProcessorCount, 1))
        #expect(Torch.version.hasPrefix("1.") || Torch.version.hasPrefix("2."))
        #expect(errorMessage { try Torch.setThreads(0) }?.contains("at least 1") == true)
    }

    @Test("threads that ran an operation before asking still get every core")
    func threadsApplyOnEveryThread() throws {
        // libtorch's OpenMP backend fixes the count per OS thread on its first parallel call.
        let counts = LockedBox([Int](repeating: 0, count: 4))
        let group = DispatchGroup()
        for index in 0..<4 {
            group.enter()
            let thread = Thread {
                _ = try? (Tensor.ones([64, 64]).matmul(Tensor.ones([64, 64]))).sum()
                counts.update { $0[index] = Torch.threads }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        #expect(counts.value == Array(repeating: Torch.threads, count: 4))
        #expect(Torch.threads == max(ProcessInfo.processInfo.activeProcessorCount, 1))
    }

    @Test("a scoped thread count holds inside, nests, and gives the previous count back")
    func scopedIntraOpThreads() throws {
        let all = Torch.threads
        try Torch.withIntraOpThreads(1) {
            #expect(Torch.threads == 1)
            try Torch.withIntraOpThreads(2) { #expect(Torch.threads == 2) }
            #expect(Torch.threads == 1)
        }
        #expect(Torch.threads == all)
        #expect(errorMessage { try Torch.withIntraOpThreads(0) {} }?.contains("at least 1") == true)
    }
}

/// A value several threads write under a lock.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}

// Serialized: each test compares OpenBLAS's process-wide thread count before and after its maps.
// Tests of other suites may hold it at one meanwhile (Jacobians do), so the comparison is of the
// count OpenBLAS rests at when no one holds it.
@Suite("Concurrent map", .serialized)
struct ConcurrentMapTests {
    @Test("workers give a serial loop's exact results and leave thread counts as they found them")
    func matchesSerialLoop() throws { try withExclusiveBLASSetting {
        let weights = try Tensor.randn([256, 256], generator: Generator(seed: 1))
        let inputs = try (0..<9).map { try Tensor.randn([128, 256], generator: Generator(seed: UInt64($0))) }
        // The serial loop runs OpenBLAS on one thread, as each worker does: on some CPUs its
        // two-thread products round differently (3.6e-5 here on an AMD EPYC with AVX-512).
        let serial = try Torch.withSingleThreadedBLAS { try inputs.map { try $0.matmul(weights).gelu().sum(dims: [0]) } }
        let before = (Torch.threads, SingleThreadedBLAS.restingCount)
        let insideThreads = LockedBox<[Int]>([])
        var reports: [Int] = []
        let parallel = try Torch.concurrentMap(inputs.count, workers: 3, progress: { reports.append($0) }) { index in
            insideThreads.update { $0.append(Torch.threads) }
            return try inputs[index].matmul(weights).gelu().sum(dims: [0])
        }
        for (a, b) in zip(serial, parallel) { #expect(try a.scalars(as: Float.self) == b.scalars(as: Float.self)) }
        #expect(insideThreads.value == Array(repeating: 1, count: 9))
        #expect(reports.last == 9 && reports == reports.sorted())
        #expect(Torch.threads == before.0 && SingleThreadedBLAS.restingCount == before.1 && SingleThreadedBLAS.isConsistent)
    } }

    @Test("overlapping maps on two threads leave OpenBLAS's thread count as they found it")
    func overlappingMaps() throws { withExclusiveBLASSetting {
        let before = SingleThreadedBLAS.restingCount
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            _ = try? Torch.concurrentMap(4, workers: 2) { index -> Int in
                Thread.sleep(forTimeInterval: 0.02)
                return index
            }
        }
        #expect(SingleThreadedBLAS.restingCount == before && SingleThreadedBLAS.isConsistent)
    } }

    @Test("the first error stops the work and is rethrown")
    func rethrowsFirstError() throws {
        for workers in [1, 2] {
            let started = LockedBox<[Int]>([])
            let message = errorMessage {
                _ = try Torch.concurrentMap(50, workers: workers) { index in
                    started.update { $0.append(index) }
                    if index == 3 { throw TorchError("item 3 failed") }
                    return index
                }
            }
            #expect(message == "item 3 failed")
            if workers == 1 { #expect(started.value == [0, 1, 2, 3]) }
        }
    }
}

@Suite("per-thread thread counts")
struct FreshThreadCountTests {
    @Test("a count set for a fresh thread survives libtorch's first parallel call there")
    func freshThreadKeepsItsCount() throws {
        let seen = LockedBox<[Int]>([])
        let group = DispatchGroup()
        group.enter()
        let thread = Thread {
            // The thread's first libtorch call sets its count; a parallel operator and the query follow.
            try? Torch.withIntraOpThreads(1) {
                _ = try Tensor.ones([256, 256]).relu().sum()
                seen.update { $0.append(Torch.threads) }
            }
            group.leave()
        }
        thread.start()
        group.wait()
        #expect(seen.value == [1])
    }
}
