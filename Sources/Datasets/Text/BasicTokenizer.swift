import Foundation

/// BERT's basic tokenisation (Devlin et al. 2019), as Hugging Face's `BertNormalizer` and
/// `BertPreTokenizer` do it for uncased models: drop NUL, U+FFFD and other control/format/
/// unassigned/private characters, turn every whitespace into a space, put spaces around CJK
/// ideographs, strip accents (NFD, then drop non-spacing marks), lower-case, then split on
/// whitespace and make every punctuation character (Unicode P*, and ASCII symbols such as $ + <
/// = > ^ ` | ~) a token of its own.
public struct BasicTokenizer: Sendable {
    public var lowercase = true

    public init(lowercase: Bool = true) {
        self.lowercase = lowercase
    }

    public func normalize(_ text: String) -> String {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) { cleaned.append(" "); continue }
            if Self.isCJK(scalar) { cleaned.append(" "); cleaned.append(scalar); cleaned.append(" "); continue }
            cleaned.append(scalar)
        }
        guard lowercase else { return String(cleaned) }
        var stripped = String.UnicodeScalarView()
        for scalar in String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            stripped.append(scalar)
        }
        // Per-character lowercase mapping (Rust's char::to_lowercase, which the reference uses).
        var lowered = String.UnicodeScalarView()
        for scalar in stripped { lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars) }
        return String(lowered)
    }

    /// Words and punctuation marks of a normalised text.
    public func split(_ normalized: String) -> [String] {
        var tokens: [String] = [], current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { tokens.append(String(current)); current = String.UnicodeScalarView() }
        }
        for scalar in normalized.unicodeScalars {
            if Self.isWhitespace(scalar) { flush(); continue }
            if Self.isPunctuation(scalar) { flush(); tokens.append(String(scalar)); continue }
            current.append(scalar)
        }
        flush()
        return tokens
    }

    public func tokenize(_ text: String) -> [String] { split(normalize(text)) }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII, (33...47).contains(s.value) || (58...64).contains(s.value) || (91...96).contains(s.value) || (123...126).contains(s.value) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation, .initialPunctuation,
             .otherPunctuation, .openPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT pads with spaces.
    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
