import AdapterFormat
import Foundation
import TestSupport
import XCTest

/// `train` end to end, through the built binary.
final class TrainCommandTests: XCTestCase {
    let llama = Fixtures.path("runtime/llama")

    func testTrainWritesAnAdapterWithItsRecipeAndRefusesToOverwrite() throws {
        let dir = try Fixtures.scratchDirectory()
        let data = dir + "/data.jsonl"
        try Fixtures.write(
            Array(
                """
                {"prefix": "Q: sky?", "text": " blue", "lang": "en", "text_parallel_0": "Himmel", "text_parallel_1": "sky"}
                {"prefix": "Q: grass?", "text": " green", "lang": "en", "text_parallel_0": "Gras", "text_parallel_1": "grass"}
                {"prefix": "Q: snow?", "text": " white", "lang": "en", "text_parallel_0": "Schnee", "text_parallel_1": "snow"}
                """.utf8), to: data)
        let out = dir + "/joint.lora"
        let log = dir + "/curve.jsonl"
        let r = try CLI.run([
            "train", "joint", "--model", llama, "--data", data, "-o", out, "--steps", "3", "--batch-size", "3",
            "--rank", "2", "--targets", "q,v", "--dev", data, "--eval-every", "2", "--log", log,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("trained 3 steps"), r.stdout)
        let adapter = try AdapterReader.open(out)
        XCTAssertEqual(adapter.metadata.kind, .joint)
        XCTAssertEqual(adapter.modules.count, 2 * 3)
        XCTAssertEqual(Set(adapter.modules.map(\.rank)), [2])
        let recipe = try XCTUnwrap(adapter.metadata.recipe)
        XCTAssertEqual(recipe["objective"]?.stringValue, "joint")
        XCTAssertEqual(recipe["layer"]?.intValue, 1, "middle of 3 blocks")
        XCTAssertEqual(recipe["task_languages"]?.arrayValue?.compactMap(\.stringValue), ["en"])
        XCTAssertEqual(recipe["alignment_languages"]?.arrayValue?.compactMap(\.stringValue), ["en"])
        XCTAssertEqual(recipe["steps"]?.intValue, 3)
        XCTAssertNotNil(recipe["best_dev_loss"]?.doubleValue)
        XCTAssertEqual(adapter.metadata.languages, ["en"])
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertNotNil(try JSONValue(parsing: Array(lines[1].utf8))["dev_loss"]?.doubleValue)

        let again = try CLI.run(["train", "task", "--model", llama, "--data", data, "-o", out, "--steps", "1"])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
    }

    func testInitContinuesFromAnExistingAdapter() throws {
        let dir = try Fixtures.scratchDirectory()
        let data = dir + "/data.jsonl"
        try Fixtures.write(
            Array("{\"prefix\": \"a\", \"text\": \" b c\"}\n{\"prefix\": \"d\", \"text\": \" e f\"}\n".utf8), to: data)
        let start = Fixtures.path("runtime/llama-adapters/a")
        let r = try CLI.run([
            "train", "task", "--model", llama, "--data", data, "-o", dir + "/more.lora", "--steps", "2",
            "--init", start, "--optimizer", "sgd", "--lr", "1e-3", "--dropout", "0",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let before = try AdapterReader.open(start)
        let after = try AdapterReader.open(dir + "/more.lora")
        XCTAssertEqual(after.modules.map(\.path), before.modules.map(\.path))
        XCTAssertEqual(Set(after.modules.map(\.rank)), [4], "the initial adapter's rank")
        XCTAssertEqual(Set(after.modules.map(\.alpha)), [8])
        let m = before.modules[0]
        XCTAssertNotEqual(try after.factors(of: m).b.floats(), try before.factors(of: m).b.floats(), "it trained")
    }

    func testBadDataIsOneLineWithFileAndLine() throws {
        let dir = try Fixtures.scratchDirectory()
        let data = dir + "/bad.jsonl"
        try Fixtures.write(Array("{\"prefix\": \"a\", \"text\": \"b\"}\n{\"prefix\": \"a\"}\n".utf8), to: data)
        let r = try CLI.run(["train", "task", "--model", llama, "--data", data, "-o", dir + "/x.lora", "--steps", "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad.jsonl") && r.stderr.contains("line 2"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        let align = try CLI.run([
            "train", "align", "--model", llama, "--data", data, "-o", dir + "/y.lora", "--skip-bad-rows",
        ])
        XCTAssertEqual(align.status, 2)
        XCTAssertTrue(align.stderr.contains("parallel rows"), align.stderr)
        XCTAssertFalse(FileSystem.exists(dir + "/y.lora"))
    }
}
