import AdapterFormat
import Foundation
import TestSupport
import Tensors
import XCTest

/// Every command against a catalogue of hostile and broken inputs (docs/ROBUSTNESS.md,
/// "Commands"): each must end within seconds with exit 2 (or the stated code), one line
/// on stderr naming what is wrong, and no output or temporary file left behind.
final class RobustnessTests: XCTestCase {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/tiny-llama").path
    let model = example + "/model"
    let task = example + "/task.lora"
    let align = example + "/align.lora"
    let dev = example + "/data/dev.jsonl"
    let pairs = example + "/data/pairs.jsonl"

    /// One hostile call: the arguments (`$D` is the case's scratch directory), the
    /// exit status, a fragment of the one-line message, and paths that must not exist afterwards.
    struct Case {
        let name: String
        let arguments: [String]
        var status: Int32 = 2
        let message: String
        var absent: [String] = []
    }

    /// The scratch directory with the hostile files every case may use.
    func hostileFiles() throws -> String {
        let d = try Fixtures.scratchDirectory()
        func write(_ name: String, _ text: String) throws { try Fixtures.write(Array(text.utf8), to: d + "/" + name) }
        try write(
            "long.jsonl",
            #"{"prefix": "a", "text": "\#(String(repeating: "ab ", count: 400_000))", "lang": "de"}"# + "\n")
        try write(
            "medium.jsonl", #"{"prefix": "a", "text": "\#(String(repeating: "ab ", count: 300))", "lang": "de"}"# + "\n"
        )
        try write("empty-text.jsonl", #"{"prefix": "Say:", "text": "", "lang": "de"}"# + "\n")
        try write("lang-number.jsonl", #"{"prefix": "Say:", "text": " hi", "lang": 7}"# + "\n")
        try write(
            "long-pairs.jsonl",
            #"{"text_parallel_0": "\#(String(repeating: "x ", count: 500_000))", "text_parallel_1": "y", "lang": "de"}"#
                + "\n"
                + #"{"text_parallel_0": "a", "text_parallel_1": "b", "lang": "de"}"# + "\n")
        try write(
            "empty-pair.jsonl",
            #"{"text_parallel_0": "", "text_parallel_1": "b", "lang": "de"}"# + "\n"
                + #"{"text_parallel_0": "a", "text_parallel_1": "b", "lang": "de"}"# + "\n")
        try write("recipe-typo.json", #"{"inputs": [{"path": "\#(task)"}, {"path": "\#(align)", "weigth": 0.5}]}"#)
        try write("recipe-type.json", #"{"inputs": [{"path": "\#(task)", "weight": "1"}]}"#)
        try write("not-an-adapter.lora", "hello\n")
        try FileManager.default.createDirectory(atPath: d + "/a-directory.lora", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: d + "/unrelated", withIntermediateDirectories: false)
        try write("unrelated/notes.txt", "keep me\n")
        try write(
            "huge-config.json",
            """
            {"model_type": "llama", "vocab_size": 16000000, "hidden_size": 16000000, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64}
            """)

        // Model directories with one thing wrong each.
        for (name, edit) in [
            ("eps", { (c: inout [String: Any]) in c["rms_norm_eps"] = -1 }),
            (
                "theta",
                { (c: inout [String: Any]) in
                    var rope = c["rope_parameters"] as? [String: Any] ?? [:]
                    rope["rope_theta"] = 0
                    c["rope_parameters"] = rope
                }
            ),
            ("tie", { (c: inout [String: Any]) in c["tie_word_embeddings"] = "no" }),
            ("eps-string", { (c: inout [String: Any]) in c["rms_norm_eps"] = "x" }),
        ] as [(String, (inout [String: Any]) -> Void)] {
            try copyModel(to: d + "/model-\(name)") { data in
                var config = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
                edit(&config)
                return try JSONSerialization.data(withJSONObject: config)
            }
        }
        try copyModel(to: d + "/model-regex", file: "tokenizer.json") { data in
            var tokenizer = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            var pre = try XCTUnwrap(tokenizer["pre_tokenizer"] as? [String: Any])
            var list = try XCTUnwrap(pre["pretokenizers"] as? [[String: Any]])
            list[0]["pattern"] = ["Regex": "(a+)+$"]
            pre["pretokenizers"] = list
            tokenizer["pre_tokenizer"] = pre
            return try JSONSerialization.data(withJSONObject: tokenizer)
        }

        // PEFT directories with a wrong-typed field.
        for (name, key, value) in [("rslora", "use_rslora", "yes" as Any), ("targets", "target_modules", 5 as Any)] {
            let dir = d + "/peft-\(name)"
            try FileManager.default.copyItem(atPath: Self.example + "/task-peft", toPath: dir)
            let url = URL(fileURLWithPath: dir + "/adapter_config.json")
            var config = try XCTUnwrap(JSONSerialization.jsonObject(with: try Data(contentsOf: url)) as? [String: Any])
            config[key] = value
            try JSONSerialization.data(withJSONObject: config).write(to: url)
        }

        // Adapters: NaN in a factor; an alpha so large the merge overflows; .lora metadata lying about types.
        let source = try AdapterReader.open(task)
        try AdapterWriter.write(
            modules: source.modules, metadata: source.metadata, to: d + "/nan.lora", overwrite: false,
            allowNonFinite: true
        ) { module in
            let (a, b) = try source.factors(of: module)
            var values = try a.floats()
            values[0] = .nan
            return (try Tensor(floats: values, shape: a.shape, dtype: a.dtype), b)
        }
        let huge = source.modules.map { $0.with(alpha: 1e300) }
        try AdapterWriter.write(modules: huge, metadata: source.metadata, to: d + "/huge-alpha.lora", overwrite: false)
        { module in
            try source.factors(of: source.module(module.path)!)
        }
        for (name, key, value) in [
            ("languages", "languages", JSONValue.int(5)), ("version", "format_version", .int(99)),
        ] {
            let writer = try LoraContainerWriter(destination: d + "/meta-\(name).lora", overwrite: false)
            var modules: [LoraModuleInfo] = []
            for module in source.modules {
                let (a, b) = try source.factors(of: module)
                try writer.append(name: module.keyA, tensor: a)
                try writer.append(name: module.keyB, tensor: b)
                modules.append(module.with(dtype: a.dtype))
            }
            var fields = source.metadata.containerJSON(modules: modules).objectValue ?? []
            fields.removeAll { $0.key == key }
            fields.append((key: key, value: value))
            try writer.finish(metadata: .object(fields))
        }
        return d
    }

    /// Copies the example model, passing one file through `edit`.
    func copyModel(to directory: String, file: String = "config.json", edit: (Data) throws -> Data) throws {
        try FileManager.default.copyItem(atPath: model, toPath: directory)
        let path = directory + "/" + file
        try edit(try Data(contentsOf: URL(fileURLWithPath: path))).write(to: URL(fileURLWithPath: path))
    }

    var catalogue: [Case] {
        let m = model
        return [
            // combine
            Case(
                name: "f16 overflow",
                arguments: ["combine", task, align, "--weights", "1e5,1", "--dtype", "f16", "-o", "$D/o.lora"],
                message: "NaN/Inf", absent: ["$D/o.lora"]),
            Case(
                name: "finite alpha that overflows",
                arguments: ["combine", "$D/huge-alpha.lora", task, "-o", "$D/o.lora"],
                message: "NaN/Inf", absent: ["$D/o.lora"]),
            Case(
                name: "NaN input", arguments: ["combine", task, "$D/nan.lora", "-o", "$D/o.lora"], message: "NaN/Inf",
                absent: ["$D/o.lora"]),
            Case(
                name: "NaN allowed into an SVD",
                arguments: ["combine", task, "$D/nan.lora", "--allow-nonfinite", "--method", "svd", "-o", "$D/o.lora"],
                message: "factorization failed", absent: ["$D/o.lora"]),
            Case(
                name: "recipe typo", arguments: ["combine", "--recipe", "$D/recipe-typo.json", "-o", "$D/o.lora"],
                message: "weigth",
                absent: ["$D/o.lora"]),
            Case(
                name: "recipe wrong type",
                arguments: ["combine", "--recipe", "$D/recipe-type.json", "-o", "$D/o.lora"],
                message: "inputs[0].weight", absent: ["$D/o.lora"]),
            Case(
                name: "empty weight", arguments: ["combine", task, align, "--weights=1,,2", "-o", "$D/o.lora"],
                message: "empty item",
                absent: ["$D/o.lora"]),
            Case(
                name: "missing output directory", arguments: ["combine", task, align, "-o", "$D/nowhere/o.lora"],
                message: "does not exist"),
            // extract
            Case(
                name: "extract without a rank", arguments: ["extract", "--base", m, "--tuned", m, "-o", "$D/o.lora"],
                message: "--rank", absent: ["$D/o.lora"]),
            Case(
                name: "extract unknown projection",
                arguments: [
                    "extract", "--base", m, "--tuned", m, "--rank", "2", "--modules", "lm_head", "-o", "$D/o.lora",
                ],
                message: "lm_head", absent: ["$D/o.lora"]),
            Case(
                name: "extract from another model",
                arguments: ["extract", "--base", m, "--tuned", "$D/missing-model", "--rank", "2", "-o", "$D/o.lora"],
                message: "missing-model", absent: ["$D/o.lora"]),
            // resize
            Case(
                name: "resize without a rank", arguments: ["resize", task, "-o", "$D/o.lora"], message: "--rank",
                absent: ["$D/o.lora"]),
            Case(
                name: "resize with two rules",
                arguments: ["resize", task, "--sv-fro", "0.9", "--sv-ratio", "4", "-o", "$D/o.lora"],
                message: "one of", absent: ["$D/o.lora"]),
            Case(
                name: "resize share above 1", arguments: ["resize", task, "--sv-fro", "1.5", "-o", "$D/o.lora"],
                message: "--sv-fro", absent: ["$D/o.lora"]),
            Case(
                name: "resize pad ranks",
                arguments: ["resize", task, "--rank", "2", "--pad-to", "8,0.5", "-o", "$D/o.lora"],
                message: "--pad-to", absent: ["$D/o.lora"]),
            Case(
                name: "resize NaN input", arguments: ["resize", "$D/nan.lora", "--rank", "2", "-o", "$D/o.lora"],
                message: "NaN/Inf", absent: ["$D/o.lora"]),
            Case(
                name: ".lora name on a directory",
                arguments: ["combine", task, align, "-o", "$D/a-directory.lora", "--force"],
                message: "is a directory"),
            Case(
                name: "force over an unrelated directory",
                arguments: ["combine", task, align, "-o", "$D/unrelated", "--force"],
                message: "not replaced"),
            // convert, inspect, verify, diff
            Case(
                name: "convert NaN", arguments: ["convert", "$D/nan.lora", "$D/o.lora"], message: "NaN/Inf",
                absent: ["$D/o.lora"]),
            Case(
                name: "metadata languages: 5", arguments: ["inspect", "$D/meta-languages.lora"],
                message: "__metadata__.languages"),
            Case(
                name: "metadata format_version 99", arguments: ["inspect", "$D/meta-version.lora"],
                message: "format_version"),
            Case(
                name: "verify a non-adapter", arguments: ["verify", "$D/not-an-adapter.lora"],
                message: "not-an-adapter.lora"),
            Case(name: "diff NaN", arguments: ["diff", "$D/nan.lora", task], message: "nan.lora"),
            // tokenize
            Case(
                name: "catastrophic regex",
                arguments: ["tokenize", "--model", "$D/model-regex", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"],
                message: "exponential time"),
            // score
            Case(
                name: "million-token row", arguments: ["score", "--model", m, "--data", "$D/long.jsonl"],
                message: "line 1"),
            Case(
                name: "row past the context", arguments: ["score", "--model", m, "--data", "$D/medium.jsonl"],
                message: "context"),
            Case(
                name: "empty text", arguments: ["score", "--model", m, "--data", "$D/empty-text.jsonl"],
                message: "nothing to score"),
            Case(
                name: "lang: 7", arguments: ["score", "--model", m, "--data", "$D/lang-number.jsonl"],
                message: "line 1: lang"),
            Case(
                name: "rms_norm_eps -1", arguments: ["score", "--model", "$D/model-eps", "--data", dev],
                message: "rms_norm_eps"),
            Case(
                name: "rope_theta 0", arguments: ["score", "--model", "$D/model-theta", "--data", dev],
                message: "rope_theta"),
            Case(
                name: "tie_word_embeddings \"no\"", arguments: ["score", "--model", "$D/model-tie", "--data", dev],
                message: "tie_word_embeddings"),
            Case(
                name: "rms_norm_eps \"x\"", arguments: ["score", "--model", "$D/model-eps-string", "--data", dev],
                message: "rms_norm_eps"),
            Case(
                name: "use_rslora \"yes\"",
                arguments: ["score", "--model", m, "--adapter", "$D/peft-rslora", "--data", dev],
                message: "use_rslora"),
            Case(
                name: "target_modules 5",
                arguments: ["score", "--model", m, "--adapter", "$D/peft-targets", "--data", dev],
                message: "target_modules"),
            Case(
                name: "NaN adapter", arguments: ["score", "--model", m, "--adapter", "$D/nan.lora", "--data", dev],
                message: "NaN/Inf"),
            // check
            Case(
                name: "check --layer 99",
                arguments: ["check", "--model", m, "--adapter", task, "--data", dev, "--layer", "99"],
                message: "alignment layer 99"),
            Case(
                name: "check --min-gain nan",
                arguments: ["check", "--model", m, "--adapter", task, "--data", dev, "--min-gain", "nan"],
                message: "--min-gain"),
            Case(
                name: "check --html in a missing directory",
                arguments: ["check", "--model", m, "--adapter", task, "--data", dev, "--html", "$D/nowhere/r.html"],
                message: "does not exist"),
            Case(
                name: "check long row",
                arguments: ["check", "--model", m, "--adapter", task, "--data", "$D/long.jsonl"], message: "line 1"),
            // tune
            Case(
                name: "slot_f1 without slots",
                arguments: [
                    "tune", "--model", m, "--task", task, "--align", align, "--dev", dev, "--metric", "slot_f1", "-o",
                    "$D/o.lora",
                ],
                message: "slot", absent: ["$D/o.lora"]),
            Case(
                name: "tune -o in a missing directory",
                arguments: [
                    "tune", "--model", m, "--task", task, "--align", align, "--dev", dev, "-o", "$D/nowhere/o.lora",
                ],
                message: "does not exist"),
            Case(
                name: "tune --cuts past the layers",
                arguments: ["tune", "--model", m, "--task", task, "--align", align, "--dev", dev, "--cuts", "99"],
                message: "cut at layer 99"),
            // analyze
            Case(
                name: "analyze --svg in a missing directory",
                arguments: ["analyze", "--model", m, "--pairs", pairs, "--svg", "$D/nowhere/c.svg"],
                message: "does not exist"),
            Case(
                name: "analyze long pair", arguments: ["analyze", "--model", m, "--pairs", "$D/long-pairs.jsonl"],
                message: "line 1"),
            // Without BOS an empty sentence has no tokens: it pooled to zeros (and a batch of them crashed).
            Case(
                name: "analyze empty sentence, no BOS",
                arguments: [
                    "analyze", "--model", Fixtures.path("runtime/qwen2"), "--pairs", "$D/empty-pair.jsonl",
                    "--batch-size", "1",
                ],
                message: "line 1: \"text_parallel_0\" has no tokens"),
            // train
            Case(
                name: "train --rank 100000",
                arguments: ["train", "task", "--model", m, "--data", dev, "--rank", "100000", "-o", "$D/o.lora"],
                message: "--rank",
                absent: ["$D/o.lora"]),
            Case(
                name: "train --weight-decay nan",
                arguments: ["train", "task", "--model", m, "--data", dev, "--weight-decay", "nan", "-o", "$D/o.lora"],
                message: "--weight-decay", absent: ["$D/o.lora"]),
            Case(
                name: "train --targets ''",
                arguments: ["train", "task", "--model", m, "--data", dev, "--targets", "", "-o", "$D/o.lora"],
                message: "--targets", absent: ["$D/o.lora"]),
            Case(
                name: "train --steps 999999999999",
                arguments: [
                    "train", "task", "--model", m, "--data", dev, "--steps", "999999999999", "-o", "$D/o.lora",
                ],
                message: "--steps", absent: ["$D/o.lora"]),
            Case(
                name: "train --epochs 1e9",
                arguments: ["train", "task", "--model", m, "--data", dev, "--epochs", "1e9", "-o", "$D/o.lora"],
                message: "--epochs", absent: ["$D/o.lora"]),
            Case(
                name: "train -o in a missing directory",
                arguments: ["train", "task", "--model", m, "--data", dev, "-o", "$D/nowhere/o.lora"],
                message: "does not exist"),
            Case(
                name: "train --log in a missing directory",
                arguments: [
                    "train", "task", "--model", m, "--data", dev, "-o", "$D/o.lora", "--log", "$D/nowhere/l.jsonl",
                ],
                message: "does not exist", absent: ["$D/o.lora"]),
            // pretrain, example, apply
            Case(
                name: "pretrain -o in a missing directory",
                arguments: [
                    "pretrain", "--config", m + "/config.json", "--tokenizer", m, "--data", dev, "--field", "text",
                    "-o", "$D/nowhere/base",
                ], message: "does not exist"),
            Case(
                name: "pretrain a config too large for memory",
                arguments: [
                    "pretrain", "--config", "$D/huge-config.json", "--tokenizer", m, "--data", dev, "-o", "$D/base",
                ],
                message: "memory", absent: ["$D/base"]),
            Case(
                name: "example world --test 999999999999",
                arguments: ["example", "world", "-o", "$D/world", "--test", "999999999999"], message: "--test",
                absent: ["$D/world"]),
            Case(
                name: "apply over an unrelated directory",
                arguments: ["apply", "--model", m, "--adapter", task, "-o", "$D/unrelated", "--force"],
                message: "not replaced"),
        ]
    }

    func testEveryCommandRefusesHostileInputsInOneLineAndLeavesNothing() throws {
        let d = try hostileFiles()
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: d))
        for c in catalogue {
            let arguments = c.arguments.map { $0.replacingOccurrences(of: "$D", with: d) }
            let start = Date()
            let r = try CLI.run(arguments)
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(r.status, c.status, "\(c.name): \(r.stderr)")
            XCTAssertLessThan(seconds, 10, "\(c.name) took \(seconds) s")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(c.name): not one line:\n\(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("adaptermerge: error: "), "\(c.name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.message), "\(c.name): expected \"\(c.message)\" in: \(r.stderr)")
            XCTAssertFalse(
                r.stderr.contains("(see --help)") && c.message.contains("line "),
                "\(c.name): a data error is no usage error")
            for path in c.absent.map({ $0.replacingOccurrences(of: "$D", with: d) }) {
                XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(c.name) left \(path)")
            }
            let now = Set(try FileManager.default.contentsOfDirectory(atPath: d))
            XCTAssertEqual(now.subtracting(before), [], "\(c.name) left files behind")
        }
        XCTAssertEqual(try String(contentsOfFile: d + "/unrelated/notes.txt", encoding: .utf8), "keep me\n")
    }

    /// An adapter whose values only overflow when narrowed: kept bit for bit in f32, refused in f16.
    func testNarrowingThatOverflowsIsRefused() throws {
        let d = try hostileFiles()
        XCTAssertEqual(try CLI.run(["convert", d + "/huge-alpha.lora", d + "/kept.lora"]).status, 0)
        let source = try AdapterReader.open(task)
        let big = d + "/big.lora"
        try AdapterWriter.write(
            modules: source.modules, metadata: source.metadata, to: big, overwrite: false, dtype: .f32
        ) { module in
            let (a, b) = try source.factors(of: module)
            return (try Tensor(floats: try a.floats().map { $0 * 1e6 }, shape: a.shape), b)
        }
        let r = try CLI.run(["convert", big, d + "/small.lora", "--dtype", "f16"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("F16"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/small.lora"))
    }

    /// `--force` onto an adapter directory replaces it whole: no stale file survives.
    func testForceReplacesADirectoryWhole() throws {
        let d = try Fixtures.scratchDirectory()
        let out = d + "/peft"
        XCTAssertEqual(try CLI.run(["convert", task, out]).status, 0)
        try Fixtures.write(Array("stale".utf8), to: out + "/stale.txt")
        XCTAssertEqual(try CLI.run(["convert", align, out]).status, 2, "no overwrite without --force")
        let r = try CLI.run(["convert", align, out, "--force"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
            ["adapter_config.json", "adapter_model.safetensors"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d), ["peft"], "no staging directory left")
    }

    /// SIGTERM or SIGINT while a command holds temporary files removes them.
    func testInterruptedCommandsLeaveNoTemporaryFiles() throws {
        for signal in [SIGTERM, SIGINT] {
            let d = try Fixtures.scratchDirectory()
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = [
                "train", "task", "--model", model, "--data", dev, "--steps", "100000", "-o", d + "/o.lora",
                "--log", d + "/log.jsonl",
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until the log's temporary file exists, i.e. training has started.
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, try FileManager.default.contentsOfDirectory(atPath: d).isEmpty { usleep(20_000) }
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: d).isEmpty, "training never started")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d), [], "signal \(signal) left files")
        }
    }

    /// Adapters trained here record the base model's identity, so they combine with the shipped ones.
    func testTrainedAdaptersShareTheShippedBaseIdentity() throws {
        let d = try Fixtures.scratchDirectory()
        let world = Self.example + "/../world"
        let train = try CLI.run([
            "train", "task", "--model", world + "/model", "--data", world + "/data/task_dev.jsonl", "--steps", "1",
            "-o", d + "/t.lora",
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let r = try CLI.run(["combine", d + "/t.lora", world + "/align.lora", "-o", d + "/m.lora"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let other = try CLI.run(["combine", d + "/t.lora", task, "-o", d + "/x.lora"])
        XCTAssertEqual(other.status, 2)
        XCTAssertTrue(other.stderr.contains("config-xxh64:"), other.stderr)
    }
}
