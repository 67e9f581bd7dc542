/// Slot filling scored as MASSIVE-style outputs are: a prediction or reference
/// is `label: value; label: value` (or `None` for no slots); each
/// `label: value` is mapped onto the utterance's tokens as BIO tags, and the
/// tagged spans are compared (micro-F1 over `(label, start, end)` spans, as
/// seqeval does). Labels alone give the slot-label F1, which credits the right
/// slot types even when the value is not copied from the input.
public enum SlotFilling {
    public struct Slot: Equatable, Sendable {
        public let label: String
        public let value: String
        public init(label: String, value: String) {
            self.label = label
            self.value = value
        }
    }

    /// True-positive, false-positive and false-negative counts; they add up
    /// across examples (micro-averaging).
    public struct Counts: Equatable, Sendable {
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0
        public init(truePositives: Int = 0, falsePositives: Int = 0, falseNegatives: Int = 0) {
            self.truePositives = truePositives
            self.falsePositives = falsePositives
            self.falseNegatives = falseNegatives
        }

        /// F1 = 2TP / (2TP + FP + FN); 1 when there was nothing to find and nothing was predicted.
        public var f1: Double {
            let denominator = 2 * truePositives + falsePositives + falseNegatives
            return denominator == 0 ? 1 : Double(2 * truePositives) / Double(denominator)
        }

        public static func + (a: Counts, b: Counts) -> Counts {
            Counts(
                truePositives: a.truePositives + b.truePositives, falsePositives: a.falsePositives + b.falsePositives,
                falseNegatives: a.falseNegatives + b.falseNegatives)
        }
    }

    /// The slots of an output; parts without a `:` or with an empty label or
    /// value are malformed and dropped (counted in `malformed`). `None` (any
    /// case) or an empty string is no slots.
    public static func parse(_ text: String) -> (slots: [Slot], malformed: Int) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.lowercased() == "none" { return ([], 0) }
        var slots: [Slot] = []
        var malformed = 0
        for part in trimmed.split(separator: ";") {
            let piece = part.trimmingCharacters(in: .whitespaces)
            if piece.isEmpty { continue }
            guard let colon = piece.firstIndex(of: ":") else {
                malformed += 1
                continue
            }
            let label = piece[..<colon].trimmingCharacters(in: .whitespaces)
            let value = piece[piece.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty, !value.isEmpty else {
                malformed += 1
                continue
            }
            slots.append(Slot(label: label, value: value))
        }
        return (slots, malformed)
    }

    /// Languages written without spaces between words, tokenized per character.
    public static let characterLevelLanguages: Set<String> = ["ja", "zh", "th", "my", "km", "lo", "bo"]

    /// Whether `lang` (e.g. `ja`, `ja-JP`, `zh_CN`) is scored per character.
    public static func isCharacterLevel(_ lang: String?) -> Bool {
        guard let lang else { return false }
        let base = lang.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { String($0).lowercased() } ?? ""
        return characterLevelLanguages.contains(base)
    }

    /// The utterance's tokens: whitespace-separated words, or characters.
    public static func tokens(_ text: String, characterLevel: Bool) -> [String] {
        if characterLevel { return text.filter { !$0.isWhitespace }.map { String($0) } }
        return text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// BIO tags of `utterance` for `slots`: each value is placed at its first
    /// occurrence whose tokens are all still untagged, so a repeated phrase
    /// fills its occurrences in order. A value that is not in the utterance
    /// tags nothing.
    public static func tags(_ slots: [Slot], utterance: [String], characterLevel: Bool) -> [String] {
        var tags = [String](repeating: "O", count: utterance.count)
        for slot in slots {
            let phrase = tokens(slot.value, characterLevel: characterLevel)
            guard !phrase.isEmpty, phrase.count <= utterance.count else { continue }
            for start in 0...(utterance.count - phrase.count) {
                let range = start..<(start + phrase.count)
                guard range.allSatisfy({ tags[$0] == "O" }), Array(utterance[range]) == phrase else { continue }
                for (k, i) in range.enumerated() { tags[i] = (k == 0 ? "B-" : "I-") + slot.label }
                break
            }
        }
        return tags
    }

    public struct Span: Hashable, Sendable {
        public let label: String
        public let start: Int
        public let end: Int
        public init(label: String, start: Int, end: Int) {
            self.label = label
            self.start = start
            self.end = end
        }
    }

    /// The spans of a BIO sequence: a `B-x` starts one, `I-x` continues it,
    /// anything else ends it (an `I-x` without its `B-x` starts one, as seqeval's default does).
    public static func spans(_ tags: [String]) -> [Span] {
        var spans: [Span] = []
        var current: (label: String, start: Int)?
        for (i, tag) in tags.enumerated() {
            let label = tag.count > 2 ? String(tag.dropFirst(2)) : ""
            if tag.hasPrefix("I-"), let c = current, c.label == label { continue }
            if let c = current { spans.append(Span(label: c.label, start: c.start, end: i)) }
            current = tag.hasPrefix("B-") || tag.hasPrefix("I-") ? (label, i) : nil
        }
        if let c = current { spans.append(Span(label: c.label, start: c.start, end: tags.count)) }
        return spans
    }

    /// Span-level counts of one example.
    public static func score(prediction: String, reference: String, utterance: String, characterLevel: Bool) -> Counts {
        let words = tokens(utterance, characterLevel: characterLevel)
        let predicted = Set(spans(tags(parse(prediction).slots, utterance: words, characterLevel: characterLevel)))
        let expected = Set(spans(tags(parse(reference).slots, utterance: words, characterLevel: characterLevel)))
        let hits = predicted.intersection(expected).count
        return Counts(
            truePositives: hits, falsePositives: predicted.count - hits, falseNegatives: expected.count - hits)
    }

    /// Label-only counts of one example: the multisets of slot labels compared.
    public static func scoreLabels(prediction: String, reference: String) -> Counts {
        var remaining: [String: Int] = [:]
        let reference = parse(reference).slots
        let predicted = parse(prediction).slots
        for s in reference { remaining[s.label, default: 0] += 1 }
        var hits = 0
        for s in predicted where (remaining[s.label] ?? 0) > 0 {
            remaining[s.label]! -= 1
            hits += 1
        }
        return Counts(
            truePositives: hits, falsePositives: predicted.count - hits, falseNegatives: reference.count - hits)
    }

    /// Whether a reference text follows the convention (so slot F1 applies to its rows).
    public static func looksLikeSlots(_ text: String) -> Bool {
        let (slots, malformed) = parse(text)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return malformed == 0 && (!slots.isEmpty || trimmed.lowercased() == "none")
    }
}

import Foundation
