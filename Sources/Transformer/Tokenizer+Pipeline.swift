import AdapterFormat
import Foundation

/// The steps of `tokenizer.json` around the BPE model, as the tokenizers library
/// runs them: normalizers, the pre-tokenizer and the decoders, for both the
/// ByteLevel family (GPT-2, Llama 3, Qwen2) and the SentencePiece style with
/// byte fallback (Llama 2, TinyLlama, Mistral).
extension Tokenizer {
    /// One normalizer of a `Sequence` (or the only one).
    enum Normalizer: Sendable, Equatable {
        case nfc, nfkc
        /// Prepends to a non-empty text.
        case prepend(String)
        /// Replaces every occurrence of a literal string.
        case replace(String, String)
        /// Strips white space at the start and/or the end.
        case strip(left: Bool, right: Bool)

        static func parse(_ v: JSONValue?) throws -> [Normalizer] {
            guard let v, !v.isNull else { return [] }
            switch v["type"]?.stringValue {
            case "NFC": return [.nfc]
            case "NFKC": return [.nfkc]
            case "Prepend":
                guard let s = v["prepend"]?.stringValue else {
                    throw TokenizerError("Prepend normalizer without prepend")
                }
                return [.prepend(s)]
            case "Replace":
                let (pattern, content) = try Tokenizer.replaceFields(v, of: "normalizers")
                return [.replace(pattern, content)]
            case "Strip":
                return [.strip(left: v["strip_left"]?.boolValue ?? true, right: v["strip_right"]?.boolValue ?? true)]
            case "Sequence":
                return try (v["normalizers"]?.arrayValue ?? []).flatMap(parse)
            case let other:
                throw TokenizerError("normalizer \(other ?? "?") is not supported (NFC, NFKC, Prepend, Replace, Strip)")
            }
        }

        func apply(_ text: String) -> String {
            switch self {
            case .nfc: return text.precomposedStringWithCanonicalMapping
            case .nfkc: return text.precomposedStringWithCompatibilityMapping
            case .prepend(let p): return text.isEmpty ? text : p + text
            case .replace(let a, let b): return Tokenizer.replacing(a, with: b, in: text)
            case .strip(let left, let right):
                var s = Substring(text)
                if left { s = s.drop { $0.unicodeScalars.allSatisfy(CharacterClass.isWhitespace) } }
                if right {
                    while let last = s.last, last.unicodeScalars.allSatisfy(CharacterClass.isWhitespace) {
                        s = s.dropLast()
                    }
                }
                return String(s)
            }
        }
    }

    /// When Metaspace puts its replacement in front of a text.
    enum PrependScheme: String, Sendable {
        case first, always, never
    }

    /// How a normalized text is cut into the words BPE merges within.
    enum PreTokenizer: Sendable {
        /// GPT-2 style: regex splits, then bytes mapped to printable characters.
        case byteLevel(splits: [SplitPattern], prefixSpace: Bool)
        /// SentencePiece style: spaces become `replacement`, optionally split before each.
        case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)
        /// The whole (normalized) text is one word (Llama 2's legacy layout).
        case none

        var isByteLevel: Bool {
            if case .byteLevel = self { return true }
            return false
        }
    }

    /// One decoder of a `Sequence` (or the only one).
    enum Decoder: Sendable {
        case byteLevel
        case replace(String, String)
        /// `<0xNN>` tokens back to bytes, as UTF-8 text where they form it.
        case byteFallback
        /// All tokens into one.
        case fuse
        case strip(content: Character, start: Int, stop: Int)
        case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme)

        static func parse(_ v: JSONValue?) throws -> [Decoder] {
            guard let v, !v.isNull else { return [] }
            switch v["type"]?.stringValue {
            case "ByteLevel": return [.byteLevel]
            case "ByteFallback": return [.byteFallback]
            case "Fuse": return [.fuse]
            case "Replace":
                let (pattern, content) = try Tokenizer.replaceFields(v, of: "decoders")
                return [.replace(pattern, content)]
            case "Strip":
                guard let text = v["content"]?.stringValue, text.count == 1, let content = text.first else {
                    throw TokenizerError("Strip decoder needs one character of content")
                }
                let start = v["start"]?.intValue ?? 0
                let stop = v["stop"]?.intValue ?? 0
                guard (0...1024).contains(start), (0...1024).contains(stop) else {
                    throw TokenizerError("Strip decoder counts out of range")
                }
                return [.strip(content: content, start: start, stop: stop)]
            case "Metaspace":
                let (replacement, scheme, _) = try metaspaceFields(v)
                return [.metaspace(replacement: replacement, prepend: scheme)]
            case "Sequence":
                return try (v["decoders"]?.arrayValue ?? []).flatMap(parse)
            case let other:
                throw TokenizerError(
                    "decoder \(other ?? "?") is not supported (ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace)"
                )
            }
        }

        func apply(_ tokens: [String]) -> [String] {
            switch self {
            case .byteLevel:
                return [String(decoding: tokens.flatMap { ByteLevel.decode($0) }, as: UTF8.self)]
            case .replace(let a, let b):
                return tokens.map { Tokenizer.replacing(a, with: b, in: $0) }
            case .fuse:
                return [tokens.joined()]
            case .strip(let content, let start, let stop):
                return tokens.map { token in
                    var s = Substring(token)
                    var n = 0
                    while n < start, s.first == content {
                        s = s.dropFirst()
                        n += 1
                    }
                    n = 0
                    while n < stop, s.last == content {
                        s = s.dropLast()
                        n += 1
                    }
                    return String(s)
                }
            case .metaspace(let replacement, let prepend):
                return tokens.enumerated().map { i, token in
                    var out = String.UnicodeScalarView()
                    for c in token.unicodeScalars {
                        if c == replacement {
                            if i == 0 && prepend != .never { continue }
                            out.append(" ")
                        } else {
                            out.append(c)
                        }
                    }
                    return String(out)
                }
            case .byteFallback:
                var out: [String] = []
                var pending: [UInt8] = []
                func flush() {
                    guard !pending.isEmpty else { return }
                    if let text = String(validating: pending, as: UTF8.self) {
                        out.append(text)
                    } else {
                        out += Array(repeating: "\u{FFFD}", count: pending.count)
                    }
                    pending.removeAll()
                }
                for token in tokens {
                    if let byte = Tokenizer.fallbackByte(token) {
                        pending.append(byte)
                    } else {
                        flush()
                        out.append(token)
                    }
                }
                flush()
                return out
            }
        }
    }

    /// A `Replace` step's literal pattern and content (regex patterns are refused).
    static func replaceFields(_ v: JSONValue, of kind: String) throws -> (String, String) {
        guard let pattern = v["pattern"]?["String"]?.stringValue, let content = v["content"]?.stringValue else {
            throw TokenizerError("only Replace \(kind) with a String pattern and content are supported")
        }
        return (pattern, content)
    }

    /// Every occurrence of `pattern` replaced, compared scalar by scalar as the
    /// tokenizers library compares chars (Foundation's search would treat a space
    /// followed by a combining mark as no space).
    static func replacing(_ pattern: String, with content: String, in text: String) -> String {
        let p = Array(pattern.unicodeScalars)
        guard !p.isEmpty else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if i + p.count <= s.count && s[i] == p[0] && Array(s[i..<(i + p.count)]) == p {
                out.append(contentsOf: content.unicodeScalars)
                i += p.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }

    /// The byte a `<0xNN>` token stands for.
    static func fallbackByte(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    static func metaspaceFields(_ v: JSONValue) throws -> (Unicode.Scalar, PrependScheme, Bool) {
        guard let r = v["replacement"]?.stringValue, r.unicodeScalars.count == 1,
            let replacement = r.unicodeScalars.first
        else {
            throw TokenizerError("Metaspace needs a one-character replacement")
        }
        let scheme: PrependScheme
        if let s = v["prepend_scheme"]?.stringValue {
            guard let parsed = PrependScheme(rawValue: s) else {
                throw TokenizerError("Metaspace prepend_scheme \"\(s)\" is not first, always or never")
            }
            scheme = parsed
        } else {
            // Files written before prepend_scheme carry add_prefix_space.
            scheme = (v["add_prefix_space"]?.boolValue ?? true) ? .always : .never
        }
        return (replacement, scheme, v["split"]?.boolValue ?? true)
    }

    /// The words of one normalized text; `atStart` is whether it begins the input (Metaspace's "first").
    func words(_ text: String, atStart: Bool) throws -> [String] {
        switch preTokenizer {
        case .none:
            return text.isEmpty ? [] : [text]
        case .byteLevel(let splits, let prefixSpace):
            var t = text
            if prefixSpace, let first = t.unicodeScalars.first, first != " " { t = " " + t }
            var pieces: [Substring] = [Substring(t)]
            for split in splits { pieces = try pieces.flatMap { try split.split(String($0)) } }
            return pieces.filter { !$0.isEmpty }.map { ByteLevel.encode($0.utf8) }
        case .metaspace(let replacement, let prepend, let split):
            // On scalars, as the tokenizers library works on chars: a space before a combining
            // mark is still a space, and the replacement before one still starts a word.
            var t = String.UnicodeScalarView()
            for c in text.unicodeScalars { t.append(c == " " ? replacement : c) }
            let prepends = prepend == .always || (prepend == .first && atStart)
            if prepends && !t.isEmpty && t.first != replacement { t.insert(replacement, at: t.startIndex) }
            guard split else { return t.isEmpty ? [] : [String(t)] }
            // Split before each replacement, keeping it with the word that follows.
            var words: [String] = []
            var current = String.UnicodeScalarView()
            for c in t {
                if c == replacement && !current.isEmpty {
                    words.append(String(current))
                    current = String.UnicodeScalarView()
                }
                current.append(c)
            }
            if !current.isEmpty { words.append(String(current)) }
            return words
        }
    }
}
