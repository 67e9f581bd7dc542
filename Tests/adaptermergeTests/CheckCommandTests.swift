import AdapterFormat
import Foundation
import TestSupport
import XCTest

/// `check` end to end: gates as exit codes, the report files, one-line errors.
final class CheckCommandTests: XCTestCase {
    let llama = Fixtures.path("runtime/llama")
    let data = Fixtures.path("runtime/score.jsonl")
    let pairs = Fixtures.path("runtime/pairs.jsonl")
    let adapterA = Fixtures.path("runtime/llama-adapters/a")

    func testGatesBecomeExitCodes() throws {
        let base = ["check", "--model", llama, "--adapter", adapterA, "--data", data, "--task-languages", "en"]
        let passing = try CLI.run(base + ["--max-loss-increase", "1000"])
        XCTAssertEqual(passing.status, 0, passing.stderr)
        XCTAssertTrue(passing.stdout.contains("gate max-loss-increase: passed"), passing.stdout)

        let failing = try CLI.run(base + ["--min-gain", "2"])
        XCTAssertEqual(failing.status, 1, failing.stdout + failing.stderr)
        XCTAssertTrue(failing.stderr.contains("gate min-gain failed"), failing.stderr)
        XCTAssertEqual(failing.stderr.split(separator: "\n").count, 1)

        let usage = try CLI.run(base + ["--no-baseline", "--min-gain", "0"])
        XCTAssertEqual(usage.status, 2)
        let missing = try CLI.run(["check", "--model", llama, "--adapter", adapterA, "--data", "/nonexistent.jsonl"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("/nonexistent.jsonl"), missing.stderr)
    }

    func testReportsAndJSON() throws {
        let dir = try Fixtures.scratchDirectory()
        let html = dir + "/report.html"
        let markdown = dir + "/summary.md"
        let r = try CLI.run([
            "check", "--model", llama, "--adapter", adapterA, "--baseline", adapterA + ":0.5", "--data", data,
            "--pairs", pairs, "--json", "--html", html, "--markdown", markdown,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try JSONValue(parsing: Array(r.stdout.utf8))
        XCTAssertNotNil(doc["languages"]?["de"]?["candidate"]?["loss"]?.doubleValue)
        XCTAssertNotNil(doc["languages"]?["de"]?["baseline"]?["retrieval"]?.doubleValue)
        XCTAssertNotNil(doc["groups"]?["held-out"])
        XCTAssertTrue(try String(contentsOfFile: html, encoding: .utf8).contains("<svg"))
        XCTAssertTrue(try String(contentsOfFile: markdown, encoding: .utf8).hasPrefix("### adaptermerge check"))
        let outputs = dir + "/outputs.jsonl"
        let decoded = try CLI.run([
            "check", "--model", llama, "--adapter", adapterA, "--data", data, "--outputs", outputs,
        ])
        XCTAssertEqual(decoded.status, 0, decoded.stderr)
        let lines = String(decoding: try Fixtures.bytes(outputs), as: UTF8.self).split(separator: "\n")
        let rows = String(decoding: try Fixtures.bytes(data), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, rows.count, "one line per task row")
        let first = try JSONValue(parsing: Array(lines[0].utf8))
        let firstRow = try JSONValue(parsing: Array(rows[0].utf8))
        XCTAssertEqual(first["index"]?.intValue, 0)
        XCTAssertEqual(first["reference"]?.stringValue, firstRow["text"]?.stringValue)
        XCTAssertEqual(first["lang"]?.stringValue, firstRow["lang"]?.stringValue)
        XCTAssertNotNil(first["candidate"]?.stringValue)
        XCTAssertNotNil(first["baseline"]?.stringValue, "the base model is the baseline")
        // Reports are never overwritten without --force.
        let again = try CLI.run(["check", "--model", llama, "--adapter", adapterA, "--data", data, "--html", html])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
    }

    func testChrFBesideLossAndExactMatchWithItsGate() throws {
        let dir = try Fixtures.scratchDirectory()
        let base = ["check", "--model", llama, "--adapter", adapterA, "--data", data, "--task-languages", "en"]
        let r = try CLI.run(base + ["--markdown", dir + "/summary.md", "--html", dir + "/report.html"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let header = r.stdout.split(separator: "\n")[1]
        XCTAssertTrue(header.contains("loss       Δ     exact       Δ      chrF       Δ"), r.stdout)
        XCTAssertTrue(
            try String(contentsOfFile: dir + "/summary.md", encoding: .utf8).contains(
                "| loss (Δ) | exact (Δ) | chrF (Δ) |"))
        XCTAssertTrue(
            try String(contentsOfFile: dir + "/report.html", encoding: .utf8).contains("chrF (higher is better)"))

        let json = try CLI.run(base + ["--json"])
        let doc = try JSONValue(parsing: Array(json.stdout.utf8))
        for lang in ["de", "fr", "ru", "zh", "en"] {
            for side in ["candidate", "baseline"] {
                let chrF = try XCTUnwrap(doc["languages"]?[lang]?[side]?["chrf"]?.doubleValue, "\(lang) \(side)")
                XCTAssertTrue((0...100).contains(chrF), "\(lang) \(side): \(chrF)")
            }
        }
        XCTAssertNotNil(doc["groups"]?["held-out"]?["candidate"]?["chrf"]?.doubleValue)

        let passing = try CLI.run(base + ["--min-chrf-gain=-100"])
        XCTAssertEqual(passing.status, 0, passing.stderr)
        XCTAssertTrue(passing.stdout.contains("gate min-chrf-gain: passed: held-out chrF gain"), passing.stdout)
        let failing = try CLI.run(base + ["--min-chrf-gain", "100.5"])
        XCTAssertEqual(failing.status, 1, failing.stdout + failing.stderr)
        XCTAssertTrue(failing.stderr.contains("gate min-chrf-gain failed: held-out chrF gain"), failing.stderr)
        XCTAssertEqual(failing.stderr.split(separator: "\n").count, 1)
        for bad in [["--no-baseline", "--min-chrf-gain", "0"], ["--min-chrf-gain", "nan"]] {
            let usage = try CLI.run(base + bad)
            XCTAssertEqual(usage.status, 2, "\(bad)")
        }
    }
}

/// `tune` end to end on the fixture model: the curve, the merged output and its tuning record.
final class TuneCommandTests: XCTestCase {
    func testTuneWritesTheMergeWithItsTuningRecord() throws {
        let dir = try Fixtures.scratchDirectory()
        let r = try CLI.run([
            "tune", "--model", Fixtures.path("runtime/llama"), "--task", Fixtures.path("runtime/llama-adapters/a"),
            "--align", Fixtures.path("runtime/llama-adapters/b"), "--dev", Fixtures.path("runtime/score.jsonl"),
            "--grid", "0,0.5,1", "--refine", "2", "--svg", dir + "/tune.svg", "-o", dir + "/tuned.lora", "--json",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let record = try JSONValue(parsing: Array(r.stdout.utf8))
        let chosen = try XCTUnwrap(record["chosen_weight"]?.doubleValue)
        XCTAssertEqual(record["metric"]?.stringValue, "loss")
        XCTAssertEqual(record["leave_one_language_out"]?.arrayValue?.count, record["languages"]?.arrayValue?.count)
        let merged = try AdapterReader.open(dir + "/tuned.lora")
        XCTAssertEqual(merged.metadata.kind, .merged)
        XCTAssertEqual(merged.metadata.lineage?["tuning"]?["chosen_weight"]?.doubleValue, chosen)
        XCTAssertEqual(merged.metadata.lineage?["weights"]?.arrayValue?.compactMap(\.doubleValue), [1, chosen])
        XCTAssertTrue(try String(contentsOfFile: dir + "/tune.svg", encoding: .utf8).contains("<polyline"))
    }

    func testTuneSelectsOnChrF() throws {
        let arguments = [
            "tune", "--model", Fixtures.path("runtime/llama"), "--task", Fixtures.path("runtime/llama-adapters/a"),
            "--align", Fixtures.path("runtime/llama-adapters/b"), "--dev", Fixtures.path("runtime/score.jsonl"),
            "--grid", "0,0.5,1", "--refine", "1", "--metric", "chrf",
        ]
        let r = try CLI.run(arguments + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let record = try JSONValue(parsing: Array(r.stdout.utf8))
        XCTAssertEqual(record["metric"]?.stringValue, "chrf")
        let curve = try XCTUnwrap(record["curve"]?.arrayValue)
        let scores = curve.compactMap { $0["score"]?.doubleValue }
        let chosen = try XCTUnwrap(record["chosen_score"]?.doubleValue)
        XCTAssertEqual(chosen, scores.max(), "higher is better")
        XCTAssertTrue(scores.allSatisfy { (0...100).contains($0) }, "\(scores)")
        let text = try CLI.run(arguments)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("metric: dev chrF (higher is better)"), text.stdout)
    }

    func testTuneSearchesLayerBandsToo() throws {
        let dir = try Fixtures.scratchDirectory()
        let r = try CLI.run([
            "tune", "--model", Fixtures.path("runtime/llama"), "--task", Fixtures.path("runtime/llama-adapters/a"),
            "--align", Fixtures.path("runtime/llama-adapters/b"), "--dev", Fixtures.path("runtime/score.jsonl"),
            "--grid", "0,1", "--refine", "1", "--cuts", "1,2", "-o", dir + "/tuned.lora", "--json",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let record = try JSONValue(parsing: Array(r.stdout.utf8))
        XCTAssertEqual(record["cuts_tried"]?.arrayValue?.count, 3)
        let lineage = try AdapterReader.open(dir + "/tuned.lora").metadata.lineage
        if let cut = record["chosen_cut"]?.intValue {
            XCTAssertEqual(lineage?["layer_weights"]?["2"]?.stringValue, "\(cut)-=0")
        } else {
            XCTAssertEqual(lineage?["layer_weights"], .null)
        }
    }
}

/// `example world` end to end.
final class ExampleWorldCommandTests: XCTestCase {
    func testWritesTheWorldAndItsFilesFeedTheOtherCommands() throws {
        let dir = try Fixtures.scratchDirectory() + "/world"
        let arguments = [
            "example", "world", "-o", dir, "--seed", "5", "--pretrain", "20", "--train", "30", "--dev", "4",
            "--test", "6", "--parallel", "10", "--parallel-test", "5",
        ]
        let r = try CLI.run(arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in [
            "pretrain.jsonl", "task_train.jsonl", "task_dev.jsonl", "task_test.jsonl", "parallel_train.jsonl",
            "parallel_test.jsonl", "world.json",
        ] {
            XCTAssertTrue(FileSystem.isRegularFile(dir + "/" + name), name)
        }
        let again = try CLI.run(arguments)
        XCTAssertEqual(again.status, 2)
        let first = try Fixtures.bytes(dir + "/task_test.jsonl")
        XCTAssertEqual(try CLI.run(arguments + ["--force"]).status, 0)
        XCTAssertEqual(try Fixtures.bytes(dir + "/task_test.jsonl"), first, "deterministic")
        // The task rows are what train and check read.
        let check = try CLI.run([
            "check", "--model", Fixtures.path("runtime/llama"), "--adapter", Fixtures.path("runtime/llama-adapters/a"),
            "--data", dir + "/task_dev.jsonl", "--pairs", dir + "/parallel_test.jsonl", "--no-baseline", "--json",
        ])
        XCTAssertEqual(check.status, 0, check.stderr)
        let doc = try JSONValue(parsing: Array(check.stdout.utf8))
        XCTAssertNotNil(doc["languages"]?["xe"]?["candidate"]?["slot_f1"]?.doubleValue)
    }

    func testTokenizerTrainsOnTheWorld() throws {
        let dir = try Fixtures.scratchDirectory()
        let world = dir + "/world"
        XCTAssertEqual(
            try CLI.run([
                "example", "world", "-o", world, "--pretrain", "30", "--train", "5", "--dev", "1", "--test", "1",
                "--parallel", "1", "--parallel-test", "1",
            ]).status, 0)
        let r = try CLI.run([
            "example", "tokenizer", "--data", world + "/pretrain.jsonl", "--vocab-size", "400", "-o", dir + "/tok",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let tokens = try CLI.run(["tokenize", "--model", dir + "/tok", "Anna visits Paris", "--json"])
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
        XCTAssertEqual(
            try JSONValue(parsing: Array(tokens.stdout.utf8))["ids"]?.arrayValue?.first?.intValue, 397, "BOS")
        XCTAssertEqual(
            try CLI.run(["example", "tokenizer", "--data", world + "/pretrain.jsonl", "-o", dir + "/tok"]).status, 2,
            "never overwritten without --force")
    }

    func testPretrainWritesABaseModelTheRuntimeLoads() throws {
        let dir = try Fixtures.scratchDirectory()
        XCTAssertEqual(
            try CLI.run([
                "example", "world", "-o", dir + "/world", "--pretrain", "40", "--train", "5", "--dev", "2",
                "--test", "1", "--parallel", "1", "--parallel-test", "1",
            ]).status, 0)
        XCTAssertEqual(
            try CLI.run([
                "example", "tokenizer", "--data", dir + "/world/pretrain.jsonl", "--vocab-size", "300",
                "-o", dir + "/tok",
            ]).status, 0)
        try Fixtures.write(
            Array(
                """
                {"model_type": "llama", "vocab_size": 300, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-5,
                 "rope_theta": 10000.0, "tie_word_embeddings": true, "hidden_act": "silu"}
                """.utf8), to: dir + "/config.json")
        let r = try CLI.run([
            "pretrain", "--config", dir + "/config.json", "--tokenizer", dir + "/tok", "--data",
            dir + "/world/pretrain.jsonl", "-o", dir + "/base", "--steps", "25", "--batch-size", "8", "--length", "32",
            "--lr", "1e-2", "--dtype", "bf16", "--log", dir + "/curve.jsonl",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let losses = try String(contentsOfFile: dir + "/curve.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONValue(parsing: Array($0.utf8))["task_loss"]?.doubleValue }
        XCTAssertEqual(losses.count, 25)
        XCTAssertLessThan(losses.suffix(5).reduce(0, +) / 5, losses.prefix(5).reduce(0, +) / 5 - 0.3, "the loss falls")
        let score = try CLI.run(["score", "--model", dir + "/base", "--data", dir + "/world/task_dev.jsonl", "--json"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let config = try FileSystem.readJSON(dir + "/base/config.json")
        XCTAssertEqual(config["dtype"]?.stringValue, "bfloat16")
        XCTAssertEqual(config["architectures"]?.arrayValue?.first?.stringValue, "LlamaForCausalLM")
        let biased = try CLI.run([
            "pretrain", "--config", Fixtures.path("runtime/qwen2/config.json"), "--tokenizer", dir + "/tok",
            "--data", dir + "/world/pretrain.jsonl", "-o", dir + "/x", "--steps", "1",
        ])
        XCTAssertEqual(biased.status, 2)
    }
}
