import Foundation
import Torch

/// The message of the error `body` throws (a TorchError's message, or the error's
/// description), or nil when it does not throw.
public func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as TorchError {
        return error.message
    } catch {
        return "\(error)"
    }
}

/// A fresh temporary folder; the caller removes it.
public func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// max |actual − expected| / max |expected|, in float64.
public func relativeDifference(_ actual: Tensor, _ expected: Tensor) throws -> Double {
    precondition(actual.shape == expected.shape, "shapes \(actual.shape) and \(expected.shape) differ")
    let a = try actual.to(.float64), b = try expected.to(.float64)
    return try (a - b).abs().max().item() / max(b.abs().max().item(), 1e-12)
}

/// max |a − b|, in float64.
public func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double {
    precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
    return try (a.to(.float64) - b.to(.float64)).abs().max().item()
}

private let blasSettingLock = NSLock()

/// Runs `body` while no other test that changes OpenBLAS's process-wide thread count (Jacobians,
/// concurrent maps) runs: GEMMs started under one count and finished under another can round
/// differently, and the concurrent-map tests compare the count itself.
public func withExclusiveBLASSetting<R>(_ body: () throws -> R) rethrows -> R {
    blasSettingLock.lock()
    defer { blasSettingLock.unlock() }
    return try body()
}

/// A TCP port nothing listens on now (the kernel's pick for port 0), for a test's process group.
public func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw TorchError("no socket for a free port") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw TorchError("could not bind a socket to find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
