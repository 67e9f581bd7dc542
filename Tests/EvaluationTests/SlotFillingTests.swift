import XCTest
import Evaluation

/// Slot F1 against hand-computed cases.
final class SlotFillingTests: XCTestCase {
    func counts(_ tp: Int, _ fp: Int, _ fn: Int) -> SlotFilling.Counts {
        SlotFilling.Counts(truePositives: tp, falsePositives: fp, falseNegatives: fn)
    }

    func testParsingTheConvention() {
        XCTAssertEqual(
            SlotFilling.parse("date: tomorrow; place: new york").slots,
            [.init(label: "date", value: "tomorrow"), .init(label: "place", value: "new york")])
        XCTAssertEqual(SlotFilling.parse("None").slots, [])
        XCTAssertEqual(SlotFilling.parse("  none ").slots, [])
        let malformed = SlotFilling.parse("date tomorrow; : x; time: ; place: home")
        XCTAssertEqual(malformed.slots, [.init(label: "place", value: "home")])
        XCTAssertEqual(malformed.malformed, 3)
        XCTAssertTrue(SlotFilling.looksLikeSlots("None"))
        XCTAssertTrue(SlotFilling.looksLikeSlots("a: b"))
        XCTAssertFalse(SlotFilling.looksLikeSlots("Der Hund schläft."))
    }

    func testExactSpansAndPartialCredit() {
        let utterance = "wake me up at seven am tomorrow"
        let reference = "time: seven am; date: tomorrow"
        XCTAssertEqual(
            SlotFilling.score(prediction: reference, reference: reference, utterance: utterance, characterLevel: false),
            counts(2, 0, 0))
        // A span one word short is wrong as a span; the label still counts for label F1.
        let short = "time: seven; date: tomorrow"
        XCTAssertEqual(
            SlotFilling.score(prediction: short, reference: reference, utterance: utterance, characterLevel: false),
            counts(1, 1, 1))
        XCTAssertEqual(SlotFilling.scoreLabels(prediction: short, reference: reference), counts(2, 0, 0))
        // A value not in the utterance tags nothing: a miss, not a false positive span.
        let english = "time: sieben uhr; date: tomorrow"
        XCTAssertEqual(
            SlotFilling.score(prediction: english, reference: reference, utterance: utterance, characterLevel: false),
            counts(1, 0, 1))
        // None against slots, and slots against None.
        XCTAssertEqual(
            SlotFilling.score(prediction: "None", reference: reference, utterance: utterance, characterLevel: false),
            counts(0, 0, 2))
        XCTAssertEqual(
            SlotFilling.score(prediction: reference, reference: "None", utterance: utterance, characterLevel: false),
            counts(0, 2, 0))
        XCTAssertEqual(
            SlotFilling.score(prediction: "None", reference: "None", utterance: utterance, characterLevel: false).f1, 1)
        // Malformed output: only its well-formed parts count.
        XCTAssertEqual(
            SlotFilling.score(
                prediction: "time seven am; date: tomorrow", reference: reference, utterance: utterance,
                characterLevel: false), counts(1, 0, 1))
    }

    func testRepeatedPhrasesFillOccurrencesInOrder() {
        let utterance = "from paris to paris"
        let tags = SlotFilling.tags(
            SlotFilling.parse("from: paris; to: paris").slots,
            utterance: SlotFilling.tokens(utterance, characterLevel: false), characterLevel: false)
        XCTAssertEqual(tags, ["O", "B-from", "O", "B-to"])
        // Predicting the same slot twice where the reference has it once: one hit, one false positive.
        XCTAssertEqual(
            SlotFilling.score(
                prediction: "from: paris; from: paris", reference: "from: paris; to: paris",
                utterance: utterance, characterLevel: false), counts(1, 1, 1))
    }

    func testCharacterLevelTokensForJapaneseAndChinese() {
        XCTAssertTrue(SlotFilling.isCharacterLevel("ja"))
        XCTAssertTrue(SlotFilling.isCharacterLevel("zh-CN"))
        XCTAssertFalse(SlotFilling.isCharacterLevel("de"))
        let utterance = "明日の東京の天気"
        XCTAssertEqual(SlotFilling.tokens(utterance, characterLevel: true).count, 8)
        let reference = "date: 明日; place: 東京"
        XCTAssertEqual(
            SlotFilling.score(prediction: reference, reference: reference, utterance: utterance, characterLevel: true),
            counts(2, 0, 0))
        // Word-level tokens would find nothing in an unspaced sentence.
        XCTAssertEqual(
            SlotFilling.score(prediction: reference, reference: reference, utterance: utterance, characterLevel: false),
            counts(0, 0, 0))
        XCTAssertEqual(
            SlotFilling.score(
                prediction: "date: 明; place: 東京", reference: reference, utterance: utterance, characterLevel: true),
            counts(1, 1, 1))
    }

    func testMicroF1AddsCountsAcrossExamples() {
        let total = counts(2, 0, 0) + counts(0, 1, 1)
        XCTAssertEqual(total, counts(2, 1, 1))
        XCTAssertEqual(total.f1, 4.0 / 6.0, accuracy: 1e-12)
    }

    func testSpansFollowSeqeval() {
        XCTAssertEqual(
            SlotFilling.spans(["B-a", "I-a", "O", "I-b", "B-a", "B-a"]),
            [
                .init(label: "a", start: 0, end: 2), .init(label: "b", start: 3, end: 4),
                .init(label: "a", start: 4, end: 5), .init(label: "a", start: 5, end: 6),
            ])
    }
}
