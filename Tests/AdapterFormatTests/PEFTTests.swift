import XCTest
import AdapterFormat
import Tensors
import TestSupport

/// PEFT adapter directories made by real PEFT (scripts/fixtures/make_fixtures.py).
final class PEFTTests: XCTestCase {
    static let cases = ["basic", "rslora", "patterns", "task", "align", "align8", "gpt2_fifo"]

    func testReadsRankAlphaAndScalingExactlyAsPEFT() throws {
        for name in PEFTTests.cases {
            let expected = try Fixtures.json("peft/\(name)/expected.json")
            let adapter = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/\(name)"))
            let modules = try XCTUnwrap(expected["modules"]?.arrayValue)
            XCTAssertEqual(adapter.modules.count, modules.count, name)
            XCTAssertEqual(adapter.metadata.baseModel, "fixtures/tiny-\(name == "gpt2_fifo" ? "gpt2" : "llama")")
            for m in modules {
                let path = try XCTUnwrap(m["name"]?.stringValue)
                let info = try XCTUnwrap(adapter.module(path), "\(name): \(path)")
                XCTAssertEqual(info.rank, m["rank"]?.intValue, "\(name): \(path)")
                XCTAssertEqual(info.alpha, m["alpha"]?.doubleValue, "\(name): \(path)")
                // PEFT's live module.scaling, read from the model, to the last bit.
                XCTAssertEqual(info.scaling, m["scaling"]?.doubleValue, "\(name): \(path)")
                XCTAssertEqual(info.inFeatures, m["in"]?.intValue)
                XCTAssertEqual(info.outFeatures, m["out"]?.intValue)
                XCTAssertEqual(info.layer, m["layer"]?.intValue)
            }
            XCTAssertEqual(adapter.parameterCount, expected["totals"]?["parameters"]?.intValue, name)
        }
    }

    func testRefusesUnsupportedFeaturesByName() throws {
        let expectations = [
            "dora": "DoRA", "lora_bias": "lora_bias", "modules_to_save": "modules_to_save",
            "embedding": "embedding LoRA", "pissa": "PiSSA",
        ]
        for (name, feature) in expectations {
            XCTAssertThrowsError(try AdapterReader.open(Fixtures.path("peft/\(name)")), name) { error in
                let e = error as? FormatError
                XCTAssertEqual(e?.code, .unsupported, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(feature), "\(name): \"\(error)\" does not name \(feature)")
                XCTAssertFalse("\(error)".contains("\n"), "one line")
            }
        }
    }

    /// PEFT → .lora → PEFT gives the same config and the same tensors, bit for bit.
    func testPEFTToLoraToPEFTIsLossless() throws {
        for name in PEFTTests.cases {
            let dir = try Fixtures.scratchDirectory("peftrt\(name)")
            let original = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/\(name)"))
            try AdapterWriter.write(
                modules: original.modules, metadata: original.metadata, to: dir + "/a.lora",
                overwrite: false, factors: original.factors(of:))
            let lora = try AdapterReader.open(dir + "/a.lora")
            XCTAssertEqual(lora.format, .lora)
            XCTAssertEqual(lora.modules, original.modules)
            try AdapterWriter.write(
                modules: lora.modules, metadata: lora.metadata, to: dir + "/back",
                overwrite: false, factors: lora.factors(of:))
            let back = try PEFTDirectoryAdapter(directory: dir + "/back")
            XCTAssertEqual(back.config.json, original.config.json, name)
            XCTAssertEqual(back.modules, original.modules, name)
            XCTAssertEqual(back.weights.entries.map(\.name), original.weights.entries.map(\.name))
            for e in original.weights.entries {
                XCTAssertEqual(
                    try back.weights.tensor(e.name), try original.weights.tensor(e.name), "\(name): \(e.name)")
            }
        }
    }

    /// .lora → PEFT → .lora keeps the metadata and the tensors.
    func testLoraToPEFTToLoraKeepsMetadata() throws {
        let dir = try Fixtures.scratchDirectory()
        let peft = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/patterns"))
        var metadata = peft.metadata
        metadata.kind = .alignment
        metadata.languages = ["de", "sw"]
        metadata.recipe = ["objective": "alignment", "layer": 1, "temperature": 0.1]
        try AdapterWriter.write(
            modules: peft.modules, metadata: metadata, to: dir + "/a.lora", overwrite: false, factors: peft.factors(of:)
        )
        let first = try AdapterReader.open(dir + "/a.lora")
        try AdapterWriter.write(
            modules: first.modules, metadata: first.metadata, to: dir + "/exported/", overwrite: false,
            factors: first.factors(of:))
        let exported = try AdapterReader.open(dir + "/exported")
        try AdapterWriter.write(
            modules: exported.modules, metadata: exported.metadata, to: dir + "/b.lora", overwrite: false,
            factors: exported.factors(of:))
        let second = try AdapterReader.open(dir + "/b.lora")
        XCTAssertEqual(second.metadata, first.metadata)
        XCTAssertEqual(second.metadata.kind, .alignment)
        XCTAssertEqual(second.metadata.languages, ["de", "sw"])
        XCTAssertEqual(second.modules, first.modules)
        for m in first.modules {
            let (a1, b1) = try first.factors(of: m)
            let (a2, b2) = try second.factors(of: m)
            XCTAssertEqual(a1, a2)
            XCTAssertEqual(b1, b2)
        }
        XCTAssertEqual(
            try Fixtures.bytes(dir + "/a.lora"), try Fixtures.bytes(dir + "/b.lora"),
            "byte-identical after the round trip")
    }

    /// When ranks or alphas no longer follow the original config, the export
    /// writes exact full-path patterns that PEFT's matching resolves correctly.
    func testGeneratedPatternsResolveEveryModule() throws {
        let peft = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/patterns"))
        var modules = peft.modules
        modules[3] = modules[3].with(alpha: 7.5)
        let json = PEFTConfig.exportJSON(
            modules: modules, baseModel: "b", fanInFanOut: false, original: peft.config.json)
        let config = try PEFTConfig(json: json, path: "generated")
        for m in modules {
            XCTAssertEqual(config.rank(for: m.path), m.rank, m.path)
            XCTAssertEqual(config.alpha(for: m.path), m.alpha, m.path)
        }
        XCTAssertEqual(json["task_type"], "CAUSAL_LM")
        let fresh = try PEFTConfig(
            json: PEFTConfig.exportJSON(modules: modules, baseModel: nil, fanInFanOut: false, original: nil),
            path: "fresh")
        for m in modules {
            XCTAssertEqual(fresh.rank(for: m.path), m.rank)
            XCTAssertEqual(fresh.alpha(for: m.path), m.alpha)
        }
    }

    func testPatternMatchingFollowsPEFT() throws {
        let config = try PEFTConfig(
            json: [
                "r": 8, "lora_alpha": 16,
                "rank_pattern": ["q_proj": 2, "layers.1.mlp.down_proj": 6, "^model.layers.3.*": 5],
            ], path: "x")
        XCTAssertEqual(config.rank(for: "model.layers.0.self_attn.q_proj"), 2)
        XCTAssertEqual(config.rank(for: "model.layers.1.mlp.down_proj"), 6)
        XCTAssertEqual(config.rank(for: "model.layers.11.mlp.down_proj"), 8)
        XCTAssertEqual(
            config.rank(for: "model.layers.0.self_attn.xq_proj"), 8, "a key matches whole path components only")
        XCTAssertEqual(config.alpha(for: "model.layers.0.self_attn.k_proj"), 16)
    }

    func testExportConvertsDTypeAndRefusesToOverwrite() throws {
        let dir = try Fixtures.scratchDirectory()
        let peft = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/basic"))
        try AdapterWriter.write(
            modules: peft.modules, metadata: peft.metadata, to: dir + "/bf", overwrite: false,
            dtype: .bf16, factors: peft.factors(of:))
        let bf = try PEFTDirectoryAdapter(directory: dir + "/bf")
        XCTAssertTrue(bf.modules.allSatisfy { $0.dtype == .bf16 })
        let m = peft.modules[0]
        XCTAssertEqual(try bf.factors(of: bf.modules[0]).a, try peft.factors(of: m).a.converted(to: .bf16))
        XCTAssertThrowsError(
            try AdapterWriter.write(
                modules: peft.modules, metadata: peft.metadata, to: dir + "/bf",
                overwrite: false, factors: peft.factors(of:))
        ) { error in
            XCTAssertEqual((error as? FormatError)?.code, .outputExists)
        }
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir), ["bf"], "no temporary directory left behind")
    }

    func testReadsTheSafetensorsFileDirectly() throws {
        let adapter = try AdapterReader.open(Fixtures.path("peft/basic/adapter_model.safetensors"))
        XCTAssertEqual(adapter.format, .peft)
        XCTAssertEqual(adapter.modules.count, 14)
    }
}
