import Foundation

/// Writes files so that readers see either the old content or the new, never a partial file.
public enum AtomicFile {
    /// Writes `data` to a temporary file beside `path`, then renames it over `path`.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { descriptor in
            try data.withUnsafeBytes { try write($0, to: descriptor) }
        }
    }

    /// Lets `produce` write a temporary file beside `path` (given its descriptor), then renames
    /// it over `path`; on any error the temporary file is removed.
    public static func write(to path: String, producing produce: (Int32) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TorchError("cannot create folder \(directory.path): \(error.localizedDescription)")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TorchError("cannot write \(path): \(String(cString: strerror(errno)))") }
        do {
            defer { close(descriptor) }
            try produce(descriptor)
        } catch {
            unlink(temporary)
            throw TorchError("cannot write \(path): \(error)")
        }
        guard rename(temporary, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TorchError("cannot write \(path): \(reason)")
        }
    }

    /// Writes all of `bytes` to `descriptor`.
    public static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw TorchError(String(cString: strerror(written < 0 ? errno : EIO))) }
            offset += written
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}

/// Reads a whole file with an error that names it.
func readFile(_ path: String, what: String) throws -> Data {
    try Limits.regularFile(path, what: what)
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw TorchError("cannot read \(what) \(path): \(error.localizedDescription)")
    }
}
