import Foundation
import Torch

/// A self-contained HTML report page built from sections.
public struct HTMLPage {
    public var title: String
    var sections: [String] = []

    public init(title: String) {
        self.title = title
    }

    public mutating func heading(_ text: String) {
        sections.append("<h2>\(escapeHTML(text))</h2>")
    }

    public mutating func paragraph(_ text: String) {
        sections.append("<p>\(escapeHTML(text))</p>")
    }

    /// Raw HTML (SVG, tables) made by this module's builders.
    public mutating func html(_ markup: String) {
        sections.append(markup)
    }

    public mutating func keyValues(_ rows: [(String, String)]) {
        let body = rows.map { "<tr><th>\(escapeHTML($0.0))</th><td>\(escapeHTML($0.1))</td></tr>" }.joined()
        sections.append("<table class=\"kv\">\(body)</table>")
    }

    /// A table of text cells (escaped), one header row.
    public mutating func table(header: [String], rows: [[String]]) {
        let head = "<tr>" + header.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr>"
        let body = rows.map { "<tr>" + $0.map { "<td>\(escapeHTML($0))</td>" }.joined() + "</tr>" }.joined()
        sections.append("<table>\(head)\(body)</table>")
    }

    public mutating func image(_ source: String, caption: String, width: Int? = nil) {
        let size = width.map { " width=\"\($0)\"" } ?? ""
        sections.append("<figure><img src=\"\(escapeHTML(source))\"\(size) alt=\"\(escapeHTML(caption))\"><figcaption>\(escapeHTML(caption))</figcaption></figure>")
    }

    /// The sections alone, for embedding in another page.
    public var bodyHTML: String { sections.joined(separator: "\n") }

    public func render() -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; padding: 0 1em; }
        h1 { font-weight: 600; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; } td, th { padding: 4px 8px; text-align: right; }
        table.kv th { text-align: left; color: #555; font-weight: normal; }
        table.confusion td { width: 2.6em; text-align: center; font-variant-numeric: tabular-nums; }
        figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
        img { image-rendering: pixelated; }
        table.grid th { font-size: 0.8em; font-weight: 600; text-align: center; max-width: 90px; }
        table.grid td { padding: 2px; }
        </style></head><body>
        <h1>\(escapeHTML(title))</h1>
        \(sections.joined(separator: "\n"))
        </body></html>
        """
    }

    public func write(to path: String) throws {
        try AtomicFile.write(render(), to: path)
    }
}

/// Text made safe to put into HTML and SVG.
public func escapeHTML(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
