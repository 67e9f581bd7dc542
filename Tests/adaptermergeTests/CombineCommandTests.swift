import AdapterFormat
import Foundation
import TestSupport
import XCTest

/// `combine` and `diff` end to end, through the built binary.
final class CombineCommandTests: XCTestCase {
    let task = Fixtures.path("peft/task")
    let align = Fixtures.path("peft/align")

    func testDefaultsWriteMergedLoraInTheCurrentDirectoryWithACertificate() throws {
        let dir = try Fixtures.scratchDirectory()
        let result = try CLI.run(["combine", task, align], in: dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileSystem.isRegularFile(dir + "/merged.lora"))
        XCTAssertTrue(result.stdout.contains("concat"), result.stdout)
        XCTAssertTrue(result.stdout.contains("total relative error"), result.stdout)
        XCTAssertTrue(result.stdout.contains("targeted by only some inputs"), result.stdout)
        // Never overwritten without --force, and nothing else is touched.
        let before = try Fixtures.bytes(dir + "/merged.lora")
        let again = try CLI.run(["combine", task, align, "--weights", "1,0.5"], in: dir)
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        XCTAssertEqual(try Fixtures.bytes(dir + "/merged.lora"), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["merged.lora"])

        let inspect = try JSONValue(parsing: try CLI.run(["inspect", dir + "/merged.lora", "--json"]).stdout)
        XCTAssertEqual(inspect["kind"], "merged")
        XCTAssertEqual(inspect["use_rslora"], false)
        let lineage = try XCTUnwrap(inspect["lineage"])
        XCTAssertEqual(lineage["method"], "concat")
        XCTAssertEqual(lineage["inputs"]?.arrayValue?.count, 2)
        XCTAssertEqual(lineage["inputs"]?.arrayValue?[1]["path"]?.stringValue, align)
        XCTAssertEqual(lineage["inputs"]?.arrayValue?[0]["xxh64"]?.stringValue?.count, 16)
        XCTAssertNotNil(lineage["tool"]?.stringValue)
        for m in try XCTUnwrap(inspect["modules"]?.arrayValue) {
            XCTAssertEqual(m["alpha"]?.intValue, m["rank"]?.intValue, "canonical: alpha = r")
            XCTAssertEqual(m["scaling"]?.doubleValue, 1)
        }
    }

    func testJSONCertificateAndByteIdenticalReruns() throws {
        let dir = try Fixtures.scratchDirectory()
        let args = ["combine", task, align, "--method", "svd", "--rank", "6", "--weights", "1,0.5", "--json"]
        let first = try CLI.run(args + ["-o", dir + "/a.lora"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let doc = try JSONValue(parsing: first.stdout)
        XCTAssertEqual(doc["method"], "svd")
        let modules = try XCTUnwrap(doc["modules"]?.arrayValue)
        XCTAssertEqual(modules.count, 14)
        for m in modules {
            XCTAssertEqual(m["rank_out"]?.intValue, 6)
            XCTAssertNotNil(m["retained_energy"]?.doubleValue)
            XCTAssertNotNil(m["relative_error"]?.doubleValue)
        }
        XCTAssertEqual(doc["partial_modules"]?.arrayValue?.count, 2)
        XCTAssertNotNil(doc["totals"]?["relative_error"]?.doubleValue)
        XCTAssertEqual(try CLI.run(args + ["-o", dir + "/b.lora"]).status, 0)
        XCTAssertEqual(try Fixtures.bytes(dir + "/a.lora"), try Fixtures.bytes(dir + "/b.lora"))
        for method in ["ties", "dare"] {
            let seeded = [
                "combine", task, Fixtures.path("peft/align8"), "--method", method, "--density", "0.4", "--seed", "7",
            ]
            XCTAssertEqual(try CLI.run(seeded + ["-o", dir + "/\(method)1.lora"]).status, 0)
            XCTAssertEqual(try CLI.run(seeded + ["-o", dir + "/\(method)2.lora"]).status, 0)
            XCTAssertEqual(
                try Fixtures.bytes(dir + "/\(method)1.lora"), try Fixtures.bytes(dir + "/\(method)2.lora"), method)
            let lineage = try JSONValue(parsing: try CLI.run(["inspect", dir + "/\(method)1.lora", "--json"]).stdout)[
                "lineage"]
            XCTAssertEqual(lineage?["seed"]?.intValue, 7)
            XCTAssertEqual(lineage?["density"]?.doubleValue, 0.4)
        }
    }

    func testPEFTDirectoryOutputAndRecipe() throws {
        let dir = try Fixtures.scratchDirectory()
        XCTAssertEqual(try CLI.run(["combine", task, align, "--weights", "1,0.5", "-o", dir + "/peft/"]).status, 0)
        XCTAssertTrue(FileSystem.isRegularFile(dir + "/peft/adapter_config.json"))
        XCTAssertEqual(try CLI.run(["verify", dir + "/peft"]).status, 0)
        // The PEFT export carries the merge's metadata: back to .lora, byte for byte.
        XCTAssertEqual(
            try CLI.run(["combine", task, align, "--weights", "1,0.5", "-o", dir + "/direct.lora"]).status, 0)
        XCTAssertEqual(try CLI.run(["convert", dir + "/peft", dir + "/roundtrip.lora"]).status, 0)
        XCTAssertEqual(try Fixtures.bytes(dir + "/direct.lora"), try Fixtures.bytes(dir + "/roundtrip.lora"))

        try FileManager.default.createDirectory(atPath: dir + "/ci", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: task, toPath: dir + "/ci/task")
        try FileManager.default.copyItem(atPath: align, toPath: dir + "/ci/align")
        let recipe =
            #"{"inputs": [{"path": "task", "weight": 1}, {"path": "align", "weight": 0.5}], "method": "concat", "output": "out.lora"}"#
        try Fixtures.write(Array(recipe.utf8), to: dir + "/ci/merge.json")
        let run = try CLI.run(["combine", "--recipe", dir + "/ci/merge.json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileSystem.isRegularFile(dir + "/ci/out.lora"), "output resolved against the recipe's directory")
        // The recipe gives the same adapter as the command line (lineage paths aside).
        let viaArgs = try AdapterReader.open(dir + "/peft")
        let viaRecipe = try AdapterReader.open(dir + "/ci/out.lora")
        for m in viaArgs.modules {
            XCTAssertEqual(try viaArgs.factors(of: m).a, try viaRecipe.factors(of: m).a)
        }
        try Fixtures.write(Array(#"{"inputs": ["task"], "methd": "svd"}"#.utf8), to: dir + "/ci/typo.json")
        let typo = try CLI.run(["combine", "--recipe", dir + "/ci/typo.json"])
        XCTAssertEqual(typo.status, 2)
        XCTAssertTrue(typo.stderr.contains("methd"), typo.stderr)
    }

    func testRefusalsAreOneLine() throws {
        let dir = try Fixtures.scratchDirectory()
        let cases: [([String], String)] = [
            (["combine", task, align, "--method", "add"], "equal ranks"),
            (["combine", task, Fixtures.path("peft/gpt2_fifo"), "-o", dir + "/x.lora"], "different base models"),
            (["combine", task, align, "--weights", "1"], "weights"),
            (["combine", task, align, "--weights", "1,abc"], "not a number"),
            (["combine", task, align, "--method", "ties", "--density", "1.5"], "density"),
        ]
        for (args, fragment) in cases {
            let r = try CLI.run(args, in: dir)
            XCTAssertEqual(r.status, 2, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(fragment), "\(args): \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no partial output")
    }

    func testDiff() throws {
        let text = try CLI.run(["diff", task, align])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("per layer"), text.stdout)
        XCTAssertTrue(text.stdout.contains("only in a (2)"), text.stdout)
        let doc = try JSONValue(parsing: try CLI.run(["diff", task, task, "--json"]).stdout)
        for m in try XCTUnwrap(doc["modules"]?.arrayValue) {
            XCTAssertEqual(m["cosine"]?.doubleValue ?? 0, 1, accuracy: 1e-9)
            XCTAssertEqual(m["norm_ratio"]?.doubleValue ?? 0, 1, accuracy: 1e-9)
        }
    }
}

/// `combine --layer-weights`, and the same from a recipe.
final class LayerWeightsCommandTests: XCTestCase {
    func testLayerWeightsFromTheCommandLineAndARecipeGiveTheSameBytes() throws {
        let dir = try Fixtures.scratchDirectory()
        let task = Fixtures.path("peft/task")
        let align = Fixtures.path("peft/align")
        let r = try CLI.run([
            "combine", task, align, "--weights", "1,0.5", "--layer-weights", "2:1-=0", "-o", dir + "/cli.lora",
            "--json",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lineage = try AdapterReader.open(dir + "/cli.lora").metadata.lineage
        XCTAssertEqual(lineage?["layer_weights"]?["2"]?.stringValue, "1-=0")
        try Fixtures.write(
            Array(
                """
                {"inputs": [{"path": "\(task)"}, {"path": "\(align)", "weight": 0.5, "layers": "1-=0"}], "output": "recipe.lora"}
                """.utf8), to: dir + "/merge.json")
        let recipe = try CLI.run(["combine", "--recipe", dir + "/merge.json"])
        XCTAssertEqual(recipe.status, 0, recipe.stderr)
        // The lineage names the inputs' paths as given, which are the same here.
        XCTAssertEqual(try Fixtures.bytes(dir + "/recipe.lora"), try Fixtures.bytes(dir + "/cli.lora"))

        let bad = try CLI.run(["combine", task, align, "--layer-weights", "2:1-0=0", "-o", dir + "/x.lora"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("layer band"), bad.stderr)
        try Fixtures.write(Array("{\"inputs\": [{\"path\": \"\(task)\", \"layers\": 3}]}".utf8), to: dir + "/bad.json")
        let badRecipe = try CLI.run(["combine", "--recipe", dir + "/bad.json", "-o", dir + "/y.lora"])
        XCTAssertEqual(badRecipe.status, 2)
        XCTAssertTrue(badRecipe.stderr.contains("inputs[0].layers"), badRecipe.stderr)
    }
}
