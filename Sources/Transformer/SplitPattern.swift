import Tensors

/// The pre-tokenizer's split: the regex of GPT-2, Llama 3 and Qwen2, matched
/// by hand-written scanners (Swift's `Regex` is far slower), with `Regex` as
/// the fallback for any other pattern.
///
/// Semantics are those of the `tokenizers` library: leftmost matches, the
/// first alternative that matches wins (backtracking, not longest), and text
/// between matches is kept as its own piece ("isolated").
public enum SplitPattern: Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3 (`maxDigits` 3) and Qwen2 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3(maxDigits: Int)
    /// Any other pattern, through Swift's `Regex`.
    case regex(String)

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static func llama3Pattern(_ digits: String) -> String {
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"# + digits
            + #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    }

    /// Recognises the well-known patterns; anything else is kept as a regex.
    public init(pattern: String) {
        switch pattern {
        case SplitPattern.gpt2Pattern: self = .gpt2
        case SplitPattern.llama3Pattern("{1,3}"): self = .llama3(maxDigits: 3)
        case SplitPattern.llama3Pattern(""): self = .llama3(maxDigits: 1)
        default: self = .regex(pattern)
        }
    }

    /// Splits `text` into pieces whose concatenation is `text`.
    public func split(_ text: String) throws -> [Substring] {
        switch self {
        case .regex(let pattern):
            let ranges = try SplitPattern.withinTimeLimit(textLength: text.unicodeScalars.count, pattern: pattern) {
                try SplitPattern.splitWithRegex(text, pattern).map { ($0.startIndex, $0.endIndex) }
            }
            return ranges.map { text[$0.0..<$0.1] }
        default:
            let scalars = Array(text.unicodeScalars)
            var cuts: [Int] = [0]
            var i = 0
            while i < scalars.count {
                let end = match(scalars, at: i)
                i = end > i ? end : i + 1
                cuts.append(i)
            }
            var pieces: [Substring] = []
            var index = text.unicodeScalars.startIndex
            for k in 1..<cuts.count {
                let next = text.unicodeScalars.index(index, offsetBy: cuts[k] - cuts[k - 1])
                pieces.append(Substring(text.unicodeScalars[index..<next]))
                index = next
            }
            return pieces
        }
    }

    /// The end of the match starting exactly at `i` (or `i` when none does).
    func match(_ s: [Unicode.Scalar], at i: Int) -> Int {
        let n = s.count
        func isLetter(_ k: Int) -> Bool { k < n && CharacterClass.isLetter(s[k]) }
        func isNumber(_ k: Int) -> Bool { k < n && CharacterClass.isNumber(s[k]) }
        func isSpace(_ k: Int) -> Bool { k < n && CharacterClass.isWhitespace(s[k]) }
        func isOther(_ k: Int) -> Bool { k < n && !isSpace(k) && !isLetter(k) && !isNumber(k) }
        func isNewline(_ k: Int) -> Bool { k < n && (s[k] == "\r" || s[k] == "\n") }
        func run(from k: Int, _ test: (Int) -> Bool) -> Int {
            var e = k
            while test(e) { e += 1 }
            return e
        }

        let caseInsensitive: Bool
        switch self {
        case .gpt2: caseInsensitive = false
        default: caseInsensitive = true
        }
        // Contractions.
        if s[i] == "'", i + 1 < n {
            func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
                guard caseInsensitive else { return c }
                if c == "\u{17F}" { return "s" }  // long s folds to s
                return ("A"..."Z").contains(c) ? Unicode.Scalar(c.value + 32)! : c
            }
            let a = lower(s[i + 1])
            let b: Unicode.Scalar? = i + 2 < n ? lower(s[i + 2]) : nil
            for word in ["s", "t", "re", "ve", "m", "ll", "d"] {
                let w = Array(word.unicodeScalars)
                if w.count == 1 && a == w[0] { return i + 2 }
                if w.count == 2 && a == w[0] && b == w[1] { return i + 3 }
            }
        }
        switch self {
        case .gpt2:
            let start = s[i] == " " ? i + 1 : i
            if isLetter(start) { return run(from: start, isLetter) }
            if isNumber(start) { return run(from: start, isNumber) }
            if isOther(start) { return run(from: start, isOther) }
        case .llama3(let maxDigits):
            if isLetter(i) { return run(from: i, isLetter) }
            if !isNewline(i) && !isNumber(i) && isLetter(i + 1) { return run(from: i + 1, isLetter) }
            if isNumber(i) {
                var e = i
                while e < i + maxDigits && isNumber(e) { e += 1 }
                return e
            }
            let start = s[i] == " " && isOther(i + 1) ? i + 1 : i
            if isOther(start) { return run(from: run(from: start, isOther), isNewline) }
        case .regex:
            return i
        }
        guard isSpace(i) else { return i }
        let spaceEnd = run(from: i, isSpace)
        if case .llama3 = self {
            // \s*[\r\n]+ : up to the last line break of the run.
            var last = -1
            for k in i..<spaceEnd where isNewline(k) { last = k }
            if last >= 0 { return last + 1 }
        }
        // \s+(?!\S), then \s+.
        if spaceEnd == n { return spaceEnd }
        if spaceEnd - 1 > i { return spaceEnd - 1 }
        return spaceEnd
    }

    static func splitWithRegex(_ text: String, _ pattern: String) throws -> [Substring] {
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw TokenizerError("the pre-tokenizer regex is not supported: \(pattern)")
        }
        var pieces: [Substring] = []
        var last = text.startIndex
        for m in text.matches(of: regex) where !m.range.isEmpty {
            if m.range.lowerBound > last { pieces.append(text[last..<m.range.lowerBound]) }
            pieces.append(text[m.range])
            last = m.range.upperBound
        }
        if last < text.endIndex { pieces.append(text[last...]) }
        return pieces
    }
}

/// Unicode classes as Oniguruma sees them (`\p{L}`, `\p{N}`, `\s`).
enum CharacterClass {
    @inline(__always) static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return (c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c == " " || (c.value >= 0x09 && c.value <= 0x0D) }
        return c.properties.isWhitespace
    }
}

/// A tokenizer file or text that cannot be handled.
public struct TokenizerError: AdapterMergeError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var codeName: String { "tokenizer" }
}
