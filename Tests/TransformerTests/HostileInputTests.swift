import AdapterFormat
import Foundation
@testable import Transformer
import XCTest

/// Readers and the tokenizer under inputs built to make them hang, allocate without bound or read defaults.
final class HostileInputTests: XCTestCase {
    func testNestedRepetitionIsFound() {
        for pattern in ["(a+)+$", "(a*)*", "(a|aa)+", "(?:x\\s+)*y", "((ab)+c)+", "(a{2,})+"] {
            XCTAssertNotNil(SplitPattern.nestedRepetition(in: pattern), pattern)
        }
        for pattern in [
            SplitPattern.gpt2Pattern, SplitPattern.llama3Pattern("{1,3}"), "(?i:'s|'t)|\\p{L}+", "[(+]+", "\\(a+\\)+",
            "(ab)+", "(a|b)?", "(a+){1}", "\\p{N}{1,3}",
        ] {
            XCTAssertNil(SplitPattern.nestedRepetition(in: pattern), pattern)
        }
        XCTAssertThrowsError(try SplitPattern.checked(pattern: "(a+)+$"))
        // Fuzz/findings/tokenizer-regex-compiled-at-encode.input: a pattern that does not compile is refused when read.
        XCTAssertThrowsError(try SplitPattern.checked(pattern: "\\p{Nope}+")) {
            XCTAssertTrue("\($0)".contains("does not compile"), "\($0)")
        }
    }

    func testSlowWorkIsStoppedAtItsTimeLimit() throws {
        // A polynomial pattern (say twelve \s* before an x, on 400 spaces) passes the static check and
        // backtracks for hours; the watched thread gives up on it. Here the slow work sleeps rather
        // than backtracks, so the abandoned thread costs the rest of the suite no CPU.
        let start = Date()
        XCTAssertThrowsError(
            try SplitPattern.withinTimeLimit(textLength: 400, limit: 0.2) { () -> Int in
                Thread.sleep(forTimeInterval: 2)
                return 0
            }
        ) { error in
            XCTAssertTrue("\(error)".contains("took more than 0.2 s on a text of 400 characters"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5)
        XCTAssertEqual(try SplitPattern.withinTimeLimit(textLength: 1, limit: 5) { 42 }, 42)
        // Fuzz/findings/tokenizer-regex-abandoned-thread.input: a pattern that ran out of time once is not run
        // again, so skipping bad rows cannot leave one spinning thread per row.
        let pattern = "slow-\(UUID().uuidString)"
        XCTAssertThrowsError(
            try SplitPattern.withinTimeLimit(textLength: 9, limit: 0.1, pattern: pattern) { () -> Int in
                Thread.sleep(forTimeInterval: 1)
                return 0
            })
        let again = Date()
        XCTAssertThrowsError(try SplitPattern.withinTimeLimit(textLength: 9, limit: 5, pattern: pattern) { 42 }) {
            error in
            XCTAssertTrue("\(error)".contains("not run again"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(again), 0.05)
        XCTAssertEqual(try SplitPattern(pattern: "\\s+").split("a b").map(String.init), ["a", " ", "b"])
    }

    func testConfigsAreReadStrictly() throws {
        let good: [String: JSONValue] = [
            "model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
            "num_hidden_layers": 1, "num_attention_heads": 2,
        ]
        func config(_ changes: [String: JSONValue]) throws -> ModelConfig {
            var fields = good
            for (k, v) in changes { fields[k] = v }
            return try ModelConfig(
                json: .object(fields.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }),
                path: "config.json")
        }
        XCTAssertNoThrow(try config([:]))
        XCTAssertNoThrow(try config(["sliding_window": .null, "rms_norm_eps": 1e-6]))
        for (key, value) in [
            ("rms_norm_eps", JSONValue.int(-1)), ("rms_norm_eps", "x"), ("rope_theta", .int(0)),
            ("tie_word_embeddings", "no"), ("vocab_size", .int(1 << 40)), ("num_hidden_layers", .int(100_000)),
            ("attention_bias", .int(1)), ("rope_theta", .double(1e-300)), ("max_position_embeddings", .int(0)),
        ] {
            XCTAssertThrowsError(try config([key: value]), "\(key): \(value)") { error in
                XCTAssertEqual((error as? FormatError)?.location, key, "\(error)")
            }
        }
    }

    /// Fuzz/findings/config-*.input: accepted configs whose rotary tables were NaN.
    func testRotaryFrequenciesMustBeFinite() throws {
        for name in ["config-rope-theta-underflow.input", "config-linear-rope-factor-underflow.input"] {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Fuzz/findings/" + name).path
            let json = try JSONValue(parsing: try FileSystem.readFile(path))
            XCTAssertThrowsError(try ModelConfig(json: json, path: name)) { error in
                XCTAssertTrue("\(error)".contains("rotary"), "\(error)")
            }
        }
    }

    func testALongWordIsMergedInLinearithmicTime() throws {
        // a+b → "ab", ab+ab → "abab": the merge order of the tokenizers library on a 200k-symbol word.
        let model = try BPEModel(
            vocab: ["a": 0, "b": 1, "ab": 2, "abab": 3], merges: [("a", "b"), ("ab", "ab")], ignoreMerges: false)
        let start = Date()
        let ids = try model.encode(word: String(repeating: "ab", count: 100_000) + "a")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(ids.count, 50_001)
        XCTAssertEqual(ids.last, 0)
        XCTAssertEqual(Set(ids.dropLast()), [3])
        XCTAssertEqual(try model.encode(word: "ababab"), [3, 2])
    }
}
