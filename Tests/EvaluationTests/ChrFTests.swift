import AdapterFormat
import Evaluation
import TestSupport
import XCTest

/// chrF against sacreBLEU 2.6.0 (Tests/Fixtures/chrf/cases.json, made by
/// scripts/fixtures/make_chrf_fixtures.py): sentence and corpus scores, and the per-order counts.
/// The arithmetic is done in sacreBLEU's order, so the scores agree to the last bit; 1e-9 is the
/// bound asked for, and the exact agreement is checked too.
final class ChrFTests: XCTestCase {
    static let cases = Result { try Fixtures.json("chrf/cases.json") }

    func testTheFixtureIsSacreBLEUsDefaultChrF() throws {
        let cases = try Self.cases.get()
        XCTAssertEqual(cases["sacrebleu"]?.stringValue, "2.6.0")
        XCTAssertEqual(cases["signature"]?.stringValue, "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0")
        XCTAssertEqual(ChrF.order, 6)
        XCTAssertEqual(ChrF.beta, 2)
    }

    func testSentenceScoresEqualSacreBLEUs() throws {
        let sentences = try XCTUnwrap(try Self.cases.get()["sentences"]?.arrayValue)
        XCTAssertGreaterThanOrEqual(sentences.count, 40)
        var exact = 0
        for case_ in sentences {
            let name = try XCTUnwrap(case_["name"]?.stringValue)
            let hypothesis = try XCTUnwrap(case_["hypothesis"]?.stringValue)
            let reference = try XCTUnwrap(case_["reference"]?.stringValue)
            let expected = try XCTUnwrap(case_["score"]?.doubleValue)
            let score = ChrF.sentenceScore(hypothesis: hypothesis, reference: reference)
            XCTAssertEqual(score, expected, accuracy: 1e-9, name)
            if score == expected { exact += 1 }
            let rows = try XCTUnwrap(case_["statistics"]?.arrayValue).map {
                $0.arrayValue?.compactMap(\.intValue) ?? []
            }
            let statistics = ChrF.Statistics(hypothesis: hypothesis, reference: reference)
            XCTAssertEqual(statistics.hypothesis, rows.map { $0[0] }, "\(name): hypothesis n-grams")
            XCTAssertEqual(statistics.reference, rows.map { $0[1] }, "\(name): reference n-grams")
            XCTAssertEqual(statistics.matching, rows.map { $0[2] }, "\(name): matches")
        }
        XCTAssertEqual(exact, sentences.count, "the same doubles as sacreBLEU")
    }

    func testCorpusScoresComeFromSummedStatistics() throws {
        let corpora = try XCTUnwrap(try Self.cases.get()["corpora"]?.arrayValue)
        XCTAssertEqual(corpora.count, 3)
        for corpus in corpora {
            let name = try XCTUnwrap(corpus["name"]?.stringValue)
            let hypotheses = try XCTUnwrap(corpus["hypotheses"]?.arrayValue).compactMap(\.stringValue)
            let references = try XCTUnwrap(corpus["references"]?.arrayValue).compactMap(\.stringValue)
            let expected = try XCTUnwrap(corpus["score"]?.doubleValue)
            let score = ChrF.corpusScore(hypotheses: hypotheses, references: references)
            XCTAssertEqual(score, expected, accuracy: 1e-9, name)
            XCTAssertEqual(score, expected, "\(name): the same double")
            let sentenceScores = try XCTUnwrap(corpus["sentence_scores"]?.arrayValue).compactMap(\.doubleValue)
            XCTAssertEqual(
                zip(hypotheses, references).map { ChrF.sentenceScore(hypothesis: $0, reference: $1) }, sentenceScores,
                name)
            // Not the mean of the sentence scores.
            XCTAssertNotEqual(score, sentenceScores.reduce(0, +) / Double(sentenceScores.count), name)
            // Summing statistics by hand gives the same.
            var total = ChrF.Statistics()
            for (h, r) in zip(hypotheses, references) { total += ChrF.Statistics(hypothesis: h, reference: r) }
            XCTAssertEqual(total.score, score, name)
        }
    }

    func testTheEdgeRules() {
        XCTAssertEqual(ChrF.sentenceScore(hypothesis: "", reference: ""), 0, "two empty texts score 0")
        XCTAssertEqual(ChrF.sentenceScore(hypothesis: "x", reference: "x"), 100, "one effective order")
        XCTAssertEqual(ChrF.corpusScore(hypotheses: [], references: []), 0)
        XCTAssertEqual(ChrF.Statistics().score, 0)
        // The hypothesis's n-grams at orders the reference lacks are not counted.
        let s = ChrF.Statistics(hypothesis: "abcdefgh", reference: "a")
        XCTAssertEqual(s.hypothesis, [8, 0, 0, 0, 0, 0])
        XCTAssertEqual(s.reference, [1, 0, 0, 0, 0, 0])
        // Code points, not grapheme clusters; canonically equal strings are different texts.
        XCTAssertEqual(ChrF.characters("e\u{301}").count, 2)
        XCTAssertLessThan(ChrF.sentenceScore(hypothesis: "caf\u{e9}", reference: "cafe\u{301}"), 100)
        // Python's str.split() whitespace, including U+001C…U+001F but not U+200B.
        XCTAssertEqual(ChrF.characters("a\u{1c}b\u{3000}c\u{85}d"), ["a", "b", "c", "d"])
        XCTAssertEqual(ChrF.characters("a\u{200b}b").count, 3)
    }

    /// Exactly the code points Python 3.11's `str.isspace()` (Unicode 14) accepts, which `str.split()` splits on.
    func testWhitespaceIsPythonsStrSplit() {
        let python: Set<UInt32> = [
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002,
            0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        ]
        let ours = Set((UInt32(0)...0x10FFFF).filter { Unicode.Scalar($0).map(ChrF.isWhitespace) ?? false })
        XCTAssertEqual(ours, python)
    }
}
