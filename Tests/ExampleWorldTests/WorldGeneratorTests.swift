import XCTest
import AdapterFormat
import Evaluation
@testable import ExampleWorld

/// The example world: deterministic, well-formed, and built as the study needs.
final class WorldGeneratorTests: XCTestCase {
    func small(seed: UInt64) -> [(name: String, rows: [JSONValue])] {
        var sizes = WorldGenerator.Sizes()
        sizes.pretrainPerLanguage = 60
        sizes.taskTrain = 80
        sizes.devPerLanguage = 10
        sizes.testPerLanguage = 20
        sizes.parallelTrainPerLanguage = 30
        sizes.parallelTestPerLanguage = 15
        return WorldGenerator(seed: seed, sizes: sizes).files()
    }

    func rows(_ files: [(name: String, rows: [JSONValue])], _ name: String) -> [JSONValue] {
        files.first { $0.name == name }?.rows ?? []
    }

    func testTheSameSeedGivesTheSameWorld() {
        let a = small(seed: 3)
        let b = small(seed: 3)
        let c = small(seed: 4)
        XCTAssertEqual(a.map { $0.rows.map(\.compactText) }, b.map { $0.rows.map(\.compactText) })
        XCTAssertNotEqual(rows(a, "task_test.jsonl").map(\.compactText), rows(c, "task_test.jsonl").map(\.compactText))
    }

    func testTaskRowsAreSlotFillingWithValuesCopiedFromTheUtterance() {
        let world = small(seed: 1)
        let train = rows(world, "task_train.jsonl")
        let test = rows(world, "task_test.jsonl")
        XCTAssertEqual(
            Set(train.compactMap { $0["lang"]?.stringValue }), ["en"], "the task is English-only in training")
        XCTAssertEqual(Set(test.compactMap { $0["lang"]?.stringValue }), ["en", "xa", "xb", "xc", "xd", "xe", "xf"])
        var none = 0
        for row in train + test {
            let utterance = row["utterance"]?.stringValue ?? ""
            let text = row["text"]?.stringValue ?? ""
            XCTAssertEqual(row["prefix"]?.stringValue, "Utterance: \(utterance)\nSlots:")
            XCTAssertTrue(SlotFilling.looksLikeSlots(text), text)
            if text.trimmingCharacters(in: .whitespacesAndNewlines) == "None" { none += 1 }
            // Every value is in the utterance, so the reference scores F1 = 1 against itself.
            let counts = SlotFilling.score(
                prediction: text, reference: text, utterance: utterance, characterLevel: false)
            XCTAssertEqual(counts.falseNegatives, 0, "\(utterance) → \(text)")
        }
        XCTAssertGreaterThan(none, 0, "some requests have no slots")
    }

    func testLanguagesFollowTheirRulesOrdersAndScripts() {
        let xa = WorldLanguage.all[0]
        let xe = WorldLanguage.all[4]
        let xf = WorldLanguage.all[5]
        XCTAssertEqual(xa.word("weather"), "veader")
        XCTAssertEqual(xa.word("Paris"), "Paris", "names are shared")
        XCTAssertEqual(xa.word("5"), "5")
        XCTAssertTrue(xe.word("the").unicodeScalars.allSatisfy { (0x0400...0x04FF).contains($0.value) })
        XCTAssertEqual(xe.word("Paris"), "Парис", "names are transliterated")
        XCTAssertTrue(xf.word("music").unicodeScalars.allSatisfy { (0x0370...0x03FF).contains($0.value) })
        var fills = ["date": "tomorrow", "time": "noon"]
        var random = TrainingRandomForTests.make()
        let generator = WorldGenerator(seed: 1)
        let intent = WorldGenerator.intents[0]  // set an alarm for {time} {date}
        XCTAssertEqual(
            generator.request(intent, in: .english, fills: &fills, random: &random).utterance,
            "set an alarm for noon tomorrow")
        XCTAssertEqual(
            generator.request(intent, in: WorldLanguage.all[2], fills: &fills, random: &random).utterance,
            "on alarm for noon tomorrov set", "object, modifiers, verb")
        XCTAssertEqual(
            generator.request(intent, in: WorldLanguage.all[3], fills: &fills, random: &random).annotation,
            "time: nuna; date: tomorrow", "oo → u, a after a final consonant")
    }

    func testParallelDataIsOnlyForAlignedLanguagesAndOutsideTheTask() {
        let world = small(seed: 2)
        let train = rows(world, "parallel_train.jsonl")
        let test = rows(world, "parallel_test.jsonl")
        let dev = rows(world, "parallel_dev.jsonl")
        XCTAssertEqual(Set(train.compactMap { $0["lang"]?.stringValue }), ["xa", "xc", "xe"])
        XCTAssertEqual(Set(dev.compactMap { $0["lang"]?.stringValue }), ["xa", "xc", "xe"])
        XCTAssertEqual(dev.count, 3 * WorldGenerator.Sizes().parallelDevPerLanguage)
        XCTAssertEqual(Set(test.compactMap { $0["lang"]?.stringValue }), ["xa", "xb", "xc", "xd", "xe", "xf"])
        let taskVerbs = Set(WorldGenerator.intents.map(\.verb))
        for row in train {
            let english = row["text_parallel_1"]?.stringValue ?? ""
            XCTAssertNotNil(row["text_parallel_0"]?.stringValue)
            XCTAssertFalse(taskVerbs.contains(String(english.split(separator: " ").first ?? "")), english)
        }
        let manifest = rows(world, "world.json")[0]
        XCTAssertEqual(manifest["held_out"]?.arrayValue?.compactMap(\.stringValue), ["xb", "xd", "xf"])
        XCTAssertEqual(rows(world, "pretrain.jsonl").count, 7 * 60)
    }
}

import Tensors
import Training
enum TrainingRandomForTests {
    static func make() -> TrainingRandom { TrainingRandom(seed: 0, stream: "test") }
}
