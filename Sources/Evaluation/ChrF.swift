/// chrF, the character n-gram F-score (Popović 2015), as sacreBLEU 2.x computes it by default.
///
/// That is `CHRF(char_order=6, word_order=0, beta=2)` with whitespace removed before the n-grams
/// are taken, no lowercasing, and no epsilon smoothing: its signature is
/// `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no`. The score is on sacreBLEU's 0–100 scale.
///
/// The rules, all sacreBLEU's:
/// - A text is a sequence of Unicode scalars (Python code points), not of Swift `Character`s:
///   `"e\u{301}"` is two characters, `"é"` one, and the two do not match; an emoji with a skin
///   tone is two.
/// - Whitespace is what Python's `str.split()` splits on (``isWhitespace(_:)``), and it is
///   removed before the n-grams of orders 1…6 are counted.
/// - Per order, the matches are the clipped counts (`min` of the two counts of each n-gram).
///   When the reference has no n-gram of an order, the hypothesis's n-grams of that order are
///   not counted either (its count is recorded as 0).
/// - Per sentence these counts are the ``Statistics``; a corpus sums them, and one score is
///   computed from the sums.
/// - The score averages precision and recall separately over the *effective* orders, those
///   where both summed counts are positive, and returns F-beta of the two averages
///   (`(1 + β²)·P·R / (β²·P + R)`, β = 2). With no effective order, or P + R = 0, the score is 0:
///   so an empty hypothesis, an empty reference, and two empty texts all score 0, while a
///   one-character hypothesis equal to a one-character reference scores 100.
///
/// Floating-point operations are done in sacreBLEU's order, so the scores are the same doubles.
public enum ChrF {
    /// The character n-gram orders, 1…`order`.
    public static let order = 6
    /// Recall is `beta` times as important as precision.
    public static let beta = 2

    /// One sentence's (or, summed, a corpus's) n-gram counts per order: element `n - 1` is order `n`.
    public struct Statistics: Equatable, Sendable {
        /// The hypothesis's n-grams (0 at orders where the reference has none).
        public var hypothesis: [Int]
        /// The reference's n-grams.
        public var reference: [Int]
        /// The clipped matches: per n-gram, the smaller of its two counts.
        public var matching: [Int]

        /// All zero: the statistics of an empty corpus.
        public init() {
            hypothesis = Array(repeating: 0, count: ChrF.order)
            reference = hypothesis
            matching = hypothesis
        }

        /// Counts given directly, one per order (missing orders count 0, extra ones are ignored).
        public init(hypothesis: [Int], reference: [Int], matching: [Int]) {
            func fitted(_ counts: [Int]) -> [Int] {
                Array(counts.prefix(ChrF.order)) + Array(repeating: 0, count: Swift.max(0, ChrF.order - counts.count))
            }
            self.hypothesis = fitted(hypothesis)
            self.reference = fitted(reference)
            self.matching = fitted(matching)
        }

        /// The counts of one hypothesis against one reference.
        public init(hypothesis: String, reference: String) {
            self.init()
            let h = ChrF.characters(hypothesis)
            let r = ChrF.characters(reference)
            for n in 1...ChrF.order {
                let referenceGrams = ChrF.ngrams(r, n)
                let hypothesisGrams = ChrF.ngrams(h, n)
                let referenceTotal = max(0, r.count - n + 1)
                var matches = 0
                for (gram, count) in hypothesisGrams {
                    if let available = referenceGrams[gram] { matches += min(count, available) }
                }
                self.hypothesis[n - 1] = referenceTotal > 0 ? max(0, h.count - n + 1) : 0
                self.reference[n - 1] = referenceTotal
                matching[n - 1] = matches
            }
        }

        /// Corpus statistics: the counts summed order by order.
        public static func + (a: Statistics, b: Statistics) -> Statistics {
            Statistics(
                hypothesis: zip(a.hypothesis, b.hypothesis).map(+), reference: zip(a.reference, b.reference).map(+),
                matching: zip(a.matching, b.matching).map(+))
        }

        public static func += (a: inout Statistics, b: Statistics) { a = a + b }

        /// The chrF score of these counts, 0…100.
        public var score: Double {
            let factor = Double(ChrF.beta * ChrF.beta)
            var averagePrecision = 0.0
            var averageRecall = 0.0
            var effectiveOrder = 0
            for i in 0..<ChrF.order where hypothesis[i] > 0 && reference[i] > 0 {
                averagePrecision += Double(matching[i]) / Double(hypothesis[i])
                averageRecall += Double(matching[i]) / Double(reference[i])
                effectiveOrder += 1
            }
            guard effectiveOrder > 0 else { return 0 }
            averagePrecision /= Double(effectiveOrder)
            averageRecall /= Double(effectiveOrder)
            guard averagePrecision + averageRecall != 0 else { return 0 }
            var score = (1 + factor) * averagePrecision * averageRecall
            score /= factor * averagePrecision + averageRecall
            return 100 * score
        }
    }

    /// sacreBLEU's `sentence_chrf(hypothesis, [reference])`, 0…100.
    public static func sentenceScore(hypothesis: String, reference: String) -> Double {
        Statistics(hypothesis: hypothesis, reference: reference).score
    }

    /// sacreBLEU's `corpus_chrf(hypotheses, [references])`, 0…100: one score from the statistics
    /// summed over the sentence pairs (not a mean of sentence scores). An empty corpus scores 0;
    /// hypotheses beyond the references (or the reverse) are not scored.
    public static func corpusScore(hypotheses: [String], references: [String]) -> Double {
        zip(hypotheses, references).reduce(Statistics()) { $0 + Statistics(hypothesis: $1.0, reference: $1.1) }
            .score
    }

    /// Whether Python's `str.split()` splits on `scalar`: Unicode's White_Space characters and
    /// the information separators U+001C…U+001F (bidirectional class B or S). Not U+200B.
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default: false
        }
    }

    /// The code points n-grams are taken from: `text` without whitespace.
    public static func characters(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { !isWhitespace($0) }
    }

    /// An n-gram of up to six code points (21 bits each), packed into two words.
    struct Gram: Hashable {
        var low: UInt64
        var high: UInt64
    }

    /// The n-grams of order `n` with their counts. Every key of one call has the same order, so
    /// the packing (three code points a word) is one to one.
    static func ngrams(_ characters: [Unicode.Scalar], _ n: Int) -> [Gram: Int] {
        guard (1...order).contains(n), characters.count >= n else { return [:] }
        var counts: [Gram: Int] = [:]
        counts.reserveCapacity(characters.count - n + 1)
        for start in 0...(characters.count - n) {
            var gram = Gram(low: 0, high: 0)
            for k in 0..<n {
                let value = UInt64(characters[start + k].value)
                if k < 3 { gram.low |= value << (21 * k) } else { gram.high |= value << (21 * (k - 3)) }
            }
            counts[gram, default: 0] += 1
        }
        return counts
    }
}
