/// Help text written as paragraphs: each paragraph's lines joined into one, blank lines kept, so
/// ArgumentParser's own wrapping gives even lines (line breaks inside a paragraph made ragged text).
func paragraphs(_ text: String) -> String {
    text.components(separatedBy: "\n\n").map { $0.split(separator: "\n").joined(separator: " ") }.joined(separator: "\n\n")
}
