import AdapterFormat
import Foundation
import TestSupport
import XCTest

/// `tokenize`, `score`, `analyze` and `apply` end to end, through the built binary.
final class RuntimeCommandsTests: XCTestCase {
    let llama = Fixtures.path("runtime/llama")
    let adapterA = Fixtures.path("runtime/llama-adapters/a")
    let adapterB = Fixtures.path("runtime/llama-adapters/b")

    func testTokenize() throws {
        let r = try CLI.run(["tokenize", "--model", llama, "Hello world", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try JSONValue(parsing: r.stdout)
        XCTAssertEqual(doc["ids"]?.arrayValue?.first?.intValue, 1019, "BOS from the post-processor")
        XCTAssertEqual(doc["decoded"]?.stringValue, "<|begin_of_text|>Hello world")
        let text = try CLI.run(["tokenize", "--model", llama, "Hello world", "--no-special-tokens"])
        XCTAssertTrue(text.stdout.hasPrefix("2 tokens") || text.stdout.contains("tokens"), text.stdout)
    }

    func testScoreMatchesTransformersAndAdaptersChangeIt() throws {
        let expected = try Fixtures.json("runtime/expected.json")["score"]?["by_model"]
        let data = Fixtures.path("runtime/score.jsonl")
        let base = try JSONValue(parsing: try CLI.run(["score", "--model", llama, "--data", data, "--json"]).stdout)
        let examples = try XCTUnwrap(base["examples"]?.arrayValue)
        let reference = try XCTUnwrap(expected?["llama"]?["examples"]?.arrayValue)
        XCTAssertEqual(examples.count, reference.count)
        for (ours, theirs) in zip(examples, reference) {
            XCTAssertTrue(isClose(ours["loss"]?.doubleValue ?? 0, theirs["loss"]?.doubleValue ?? 1, rel: 1e-4))
            XCTAssertEqual(ours["tokens"]?.intValue, theirs["tokens"]?.intValue)
            XCTAssertEqual(ours["lang"], theirs["lang"])
        }
        XCTAssertNotNil(base["languages"]?["de"]?.doubleValue)
        let adapted = try JSONValue(
            parsing: try CLI.run(["score", "--model", llama, "--adapter", adapterA, "--data", data, "--json"]).stdout)
        let referenceA = try XCTUnwrap(expected?["llama+a"]?["examples"]?.arrayValue)
        for (ours, theirs) in zip(adapted["examples"]?.arrayValue ?? [], referenceA) {
            XCTAssertTrue(isClose(ours["loss"]?.doubleValue ?? 0, theirs["loss"]?.doubleValue ?? 1, rel: 1e-4))
        }
        let table = try CLI.run([
            "score", "--model", llama, "--adapter", adapterA + ":0.5", "--adapter", adapterB, "--data", data,
        ])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("mean loss"), table.stdout)
    }

    func testAnalyzeWritesJSONAndSVG() throws {
        let dir = try Fixtures.scratchDirectory()
        let r = try CLI.run([
            "analyze", "--model", llama, "--pairs", Fixtures.path("runtime/pairs.jsonl"), "--json", "--svg",
            dir + "/curve.svg",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try JSONValue(parsing: r.stdout)
        let reference = try XCTUnwrap(
            Fixtures.json("runtime/expected.json")["retrieval"]?["by_model"]?["llama"]?["layers"]?.arrayValue)
        XCTAssertEqual(doc["layers"]?.arrayValue?.count, reference.count)
        for (ours, theirs) in zip(doc["mean"]?.arrayValue ?? [], reference) {
            XCTAssertEqual(ours.doubleValue ?? -1, theirs["mean_accuracy"]?.doubleValue ?? -2, accuracy: 1e-9)
        }
        XCTAssertNotNil(doc["languages"]?["ru"]?.arrayValue)
        XCTAssertNotNil(doc["best_layer"]?.intValue)
        let svg = String(decoding: try Fixtures.bytes(dir + "/curve.svg"), as: UTF8.self)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("polyline") && svg.hasSuffix("</svg>\n"))
        let again = try CLI.run([
            "analyze", "--model", llama, "--pairs", Fixtures.path("runtime/pairs.jsonl"), "--svg", dir + "/curve.svg",
        ])
        XCTAssertEqual(again.status, 2, "never overwrites without --force")
    }

    func testApplyWritesAModelThatReproducesTheAdapter() throws {
        let dir = try Fixtures.scratchDirectory()
        let r = try CLI.run(["apply", "--model", llama, "--adapter", adapterA, "-o", dir + "/merged"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let data = Fixtures.path("runtime/score.jsonl")
        let merged = try JSONValue(
            parsing: try CLI.run(["score", "--model", dir + "/merged", "--data", data, "--json"]).stdout)
        let unmerged = try JSONValue(
            parsing: try CLI.run(["score", "--model", llama, "--adapter", adapterA, "--data", data, "--json"]).stdout)
        for (a, b) in zip(merged["examples"]?.arrayValue ?? [], unmerged["examples"]?.arrayValue ?? []) {
            // The merged weights are rounded to the checkpoint's dtype, so agreement is to that precision.
            XCTAssertTrue(isClose(a["loss"]?.doubleValue ?? 0, b["loss"]?.doubleValue ?? 1, rel: 1e-2))
        }
        XCTAssertEqual(
            try CLI.run(["apply", "--model", llama, "--adapter", adapterA, "-o", dir + "/merged"]).status, 2)
    }

    func testBadDataIsReportedWithFileAndLine() throws {
        let dir = try Fixtures.scratchDirectory()
        try Fixtures.write(
            Array("{\"prefix\": \"a\", \"text\": \"b\"}\n{\"prefix\": \"a\"}\n".utf8), to: dir + "/bad.jsonl")
        let r = try CLI.run(["score", "--model", llama, "--data", dir + "/bad.jsonl"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad.jsonl: line 2"), r.stderr)
        let wrongBase = try CLI.run([
            "score", "--model", llama, "--adapter", Fixtures.path("peft/basic"), "--data", dir + "/bad.jsonl",
        ])
        XCTAssertEqual(wrongBase.status, 2)
        XCTAssertTrue(wrongBase.stderr.contains("another base model"), wrongBase.stderr)
    }
}
