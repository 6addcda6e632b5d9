import Foundation
import Torch

/// The JSON records runs write: snake_case keys, sorted, pretty, written atomically.
public enum JSONFile {
    public static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(encoder.encode(value), to: path)
    }

    /// A record `write` wrote (snake_case keys).
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
