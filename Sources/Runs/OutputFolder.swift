import Foundation
import Torch

/// The folder a run writes to, checked before any work starts: a run that trains for an epoch and
/// then finds it cannot write its results has wasted the user's time.
public enum OutputFolder {
    /// Creates `path` if needed and checks that it is a writable folder.
    public static func prepare(_ path: String) throws {
        guard !path.isEmpty else { throw TorchError("the output folder is empty; name a folder with --out") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw TorchError("\(path) exists and is not a folder; choose another --out") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw TorchError("cannot create the output folder \(path): \(error.localizedDescription)")
            }
        }
        guard FileManager.default.isWritableFile(atPath: path) else { throw TorchError("cannot write to the output folder \(path)") }
    }
}
