import AdapterFormat
import Foundation
import TestSupport
import XCTest

/// `convert`, `inspect` and `verify` end to end, through the built binary.
final class FoundationCommandsTests: XCTestCase {
    func testConvertThenInspectThenVerify() throws {
        let dir = try Fixtures.scratchDirectory()
        let lora = dir + "/task.lora"
        let convert = try CLI.run([
            "convert", Fixtures.path("peft/task"), lora, "--kind", "task", "--languages", "en,de",
        ])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        XCTAssertTrue(convert.stdout.contains("14 modules"), convert.stdout)

        let inspect = try CLI.run(["inspect", lora])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        for fragment in [
            "kind       task", "base model fixtures/tiny-llama", "rank       8 (all)", "alpha      16 (all)",
            "languages  en, de", "per-layer ‖ΔW‖_F", "stored",
        ] {
            XCTAssertTrue(inspect.stdout.contains(fragment), "inspect lacks \"\(fragment)\":\n\(inspect.stdout)")
        }

        let json = try CLI.run(["inspect", lora, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let doc = try JSONValue(parsing: json.stdout)
        XCTAssertEqual(doc["format"], "lora")
        XCTAssertEqual(doc["kind"], "task")
        XCTAssertEqual(doc["base_model"], "fixtures/tiny-llama")
        XCTAssertEqual(doc["totals"]?["parameters"]?.intValue, 7424)
        XCTAssertNotNil(doc["totals"]?["raw_bytes"]?.intValue)
        XCTAssertNotNil(doc["totals"]?["stored_bytes"]?.intValue)
        let modules = try XCTUnwrap(doc["modules"]?.arrayValue)
        XCTAssertEqual(modules.count, 14)
        let expected = try Fixtures.json("peft/task/expected.json")["modules"]?.arrayValue ?? []
        for m in modules {
            for key in [
                "name", "layer", "in", "out", "rank", "alpha", "scaling", "dtype", "delta_fro", "delta_spectral",
                "effective_rank", "nonfinite",
            ] {
                XCTAssertNotNil(m[key], "module entry lacks \(key)")
            }
            let reference = try XCTUnwrap(expected.first { $0["name"] == m["name"] })
            XCTAssertTrue(
                isClose(m["delta_fro"]?.doubleValue ?? 0, reference["delta_fro"]?.doubleValue ?? 1, rel: 1e-10))
        }

        let verify = try CLI.run(["verify", lora])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.hasPrefix("OK"))

        // Back to PEFT and into .lora again: the same bytes.
        XCTAssertEqual(try CLI.run(["convert", lora, dir + "/peft"]).status, 0)
        XCTAssertTrue(FileSystem.isRegularFile(dir + "/peft/adapter_config.json"))
        XCTAssertEqual(try CLI.run(["convert", dir + "/peft", dir + "/again.lora"]).status, 0)
        XCTAssertEqual(try Fixtures.bytes(lora), try Fixtures.bytes(dir + "/again.lora"))
    }

    func testVerifyNamesTheCorruptTensorAndExitsOne() throws {
        let dir = try Fixtures.scratchDirectory()
        let lora = dir + "/a.lora"
        XCTAssertEqual(try CLI.run(["convert", Fixtures.path("peft/basic"), lora, "--encoding", "raw"]).status, 0)
        let reader = try LoraContainerReader(path: lora)
        let victim = try XCTUnwrap(reader.entries.dropFirst(5).first)
        var bytes = try Fixtures.bytes(lora)
        bytes[reader.dataStart + victim.storedRange.lowerBound + 3] ^= 0x01
        try Fixtures.write(bytes, to: lora)
        let result = try CLI.run(["verify", lora])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(victim.name), result.stderr)
        XCTAssertTrue(result.stderr.contains("checksum"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)")
    }

    func testBadInputsGiveOneLineAndNoOutput() throws {
        let dir = try Fixtures.scratchDirectory()
        let good = try Fixtures.bytes(Fixtures.path("safetensors/no_metadata.safetensors"))
        let cases: [(String, [UInt8])] = [
            ("empty.lora", []),
            ("garbage.lora", Array("hello, world".utf8)),
            ("truncated.lora", Array(LoraContainer.magic.prefix(6))),
        ]
        for (name, bytes) in cases {
            try Fixtures.write(bytes, to: dir + "/" + name)
            for command in [["inspect"], ["verify"], ["convert"]] {
                var args = command + [dir + "/" + name]
                if command == ["convert"] { args.append(dir + "/out.lora") }
                let result = try CLI.run(args)
                XCTAssertNotEqual(result.status, 0, "\(command) \(name)")
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(command) \(name): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(name), "names the file: \(result.stderr)")
                XCTAssertFalse(FileSystem.exists(dir + "/out.lora"))
            }
        }
        // A PEFT directory with broken weights.
        try FileManager.default.createDirectory(atPath: dir + "/peft", withIntermediateDirectories: true)
        try Fixtures.write(Array(good.dropLast(3)), to: dir + "/peft/adapter_model.safetensors")
        try FileManager.default.copyItem(
            atPath: Fixtures.path("peft/basic/adapter_config.json"), toPath: dir + "/peft/adapter_config.json")
        let broken = try CLI.run(["convert", dir + "/peft", dir + "/out.lora"])
        XCTAssertEqual(broken.status, 2)
        XCTAssertTrue(broken.stderr.contains("truncated"), broken.stderr)
        XCTAssertFalse(FileSystem.exists(dir + "/out.lora"))
        let missing = try CLI.run(["inspect", dir + "/nope.lora"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no such file"), missing.stderr)
        let refused = try CLI.run(["convert", Fixtures.path("peft/dora"), dir + "/dora.lora"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("DoRA"), refused.stderr)
    }

    func testNeverOverwritesWithoutForce() throws {
        let dir = try Fixtures.scratchDirectory()
        let target = dir + "/mine.lora"
        try Fixtures.write(Array("precious".utf8), to: target)
        let result = try CLI.run(["convert", Fixtures.path("peft/basic"), target])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("--force"), result.stderr)
        XCTAssertEqual(try Fixtures.bytes(target), Array("precious".utf8))
        XCTAssertEqual(try CLI.run(["convert", Fixtures.path("peft/basic"), target, "--force"]).status, 0)
        XCTAssertEqual(try CLI.run(["verify", target]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["mine.lora"])
    }

    func testHelpAndVersion() throws {
        let version = try CLI.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertFalse(version.stdout.isEmpty)
        for command in ["convert", "inspect", "verify"] {
            let help = try CLI.run([command, "--help"])
            XCTAssertEqual(help.status, 0, command)
            XCTAssertTrue(help.stdout.contains("Examples:"), "\(command) --help has examples")
        }
        let usage = try CLI.run(["convert"])
        XCTAssertEqual(usage.status, 2)
        let badOption = try CLI.run(["convert", "a", "b", "--dtype", "f8"])
        XCTAssertEqual(badOption.status, 2)
    }

    func testDTypeAndEncodingOptions() throws {
        let dir = try Fixtures.scratchDirectory()
        XCTAssertEqual(
            try CLI.run([
                "convert", Fixtures.path("peft/task"), dir + "/bf.lora", "--dtype", "bf16", "--encoding", "zstd",
                "--level", "9",
            ]).status, 0)
        let doc = try JSONValue(parsing: try CLI.run(["inspect", dir + "/bf.lora", "--json"]).stdout)
        XCTAssertEqual(doc["modules"]?.arrayValue?.first?["dtype"], "bf16")
        XCTAssertEqual(doc["modules"]?.arrayValue?.first?["encoding"]?["A"], "zstd")
        XCTAssertEqual(
            try CLI.run(["convert", Fixtures.path("peft/task"), dir + "/x.lora", "--level", "40"]).status, 2)
    }
}
