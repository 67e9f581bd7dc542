import XCTest
import AdapterFormat
import Tensors
import TestSupport

/// mlx-lm adapter directories: written from and read back to the same factors,
/// transposed as mlx-lm stores them, with mlx-lm's single scale.
final class MLXAdapterTests: XCTestCase {
    static let examples = Fixtures.root + "/../../examples"

    func write(_ source: any AdapterSource, to dir: String, modules: [LoraModuleInfo]? = nil) throws {
        try AdapterWriter.write(
            modules: modules ?? source.modules, metadata: source.metadata, to: dir, overwrite: false, format: .mlx
        ) { m in try source.factors(of: source.module(m.path) ?? m) }
    }

    func testLoraToMLXAndBackIsBitExact() throws {
        for name in ["tiny-llama/task.lora", "world/align.lora"] {
            let source = try AdapterReader.open(Self.examples + "/" + name)
            let dir = try Fixtures.scratchDirectory() + "/mlx"
            try write(source, to: dir)
            let mlx = try AdapterReader.open(dir)
            XCTAssertEqual(mlx.format, .mlx)
            XCTAssertEqual(mlx.modules, source.modules, name)
            XCTAssertEqual(mlx.metadata.kind, source.metadata.kind)
            XCTAssertEqual(mlx.metadata.languages, source.metadata.languages)
            for m in source.modules {
                let (a, b) = try source.factors(of: m)
                let (a2, b2) = try mlx.factors(of: m)
                XCTAssertEqual(a.bytes, a2.bytes, m.path)
                XCTAssertEqual(b.bytes, b2.bytes, m.path)
            }
            // As mlx-lm stores them: lora_a is in × r, lora_b is r × out.
            let weights = try SafeTensorsFile(path: dir + "/adapters.safetensors")
            let m = try XCTUnwrap(source.modules.first)
            XCTAssertEqual(weights.entry(m.path + ".lora_a")?.shape, [m.inFeatures, m.rank])
            XCTAssertEqual(weights.entry(m.path + ".lora_b")?.shape, [m.rank, m.outFeatures])
            let config = try JSONValue(parsing: try Fixtures.bytes(dir + "/adapter_config.json"))
            XCTAssertEqual(config["fine_tune_type"]?.stringValue, "lora")
            XCTAssertEqual(config["num_layers"]?.intValue, -1)
            XCTAssertEqual(config["lora_parameters"]?["scale"]?.doubleValue, m.scaling)
            XCTAssertEqual(config["lora_parameters"]?["rank"]?.intValue, source.modules.map(\.rank).max())
            XCTAssertTrue(
                config["lora_parameters"]?["keys"]?.arrayValue?.contains(.string("self_attn.q_proj")) ?? false)
        }
    }

    /// Modules with different scalings: each folded into lora_b under scale 1, ΔW unchanged.
    func testUnequalScalingsAreFoldedIntoB() throws {
        let source = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let modules = source.modules.enumerated().map { i, m in m.with(alpha: i % 2 == 0 ? m.alpha : 3 * m.alpha) }
        let dir = try Fixtures.scratchDirectory() + "/mlx"
        try write(source, to: dir, modules: modules)
        let mlx = try AdapterReader.open(dir)
        let config = try JSONValue(parsing: try Fixtures.bytes(dir + "/adapter_config.json"))
        XCTAssertEqual(config["lora_parameters"]?["scale"]?.doubleValue, 1)
        for (m, read) in zip(modules, mlx.modules) {
            XCTAssertEqual(read.scaling, 1)
            let (a, b) = try source.factors(of: source.module(m.path)!)
            let (a2, b2) = try mlx.factors(of: read)
            let ours = try dense(a2, b2, scale: read.scaling)
            let theirs = try dense(a, b, scale: m.scaling)
            for (x, y) in zip(ours, theirs) { XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)), m.path) }
        }
    }

    func testRefusesWhatItCannotRepresent() throws {
        let source = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let dir = try Fixtures.scratchDirectory() + "/mlx"
        try write(source, to: dir)
        let configPath = dir + "/adapter_config.json"
        let original = try Fixtures.bytes(configPath)
        let text = String(decoding: original, as: UTF8.self)
        try Fixtures.write(Array(text.replacingOccurrences(of: "\"lora\"", with: "\"dora\"").utf8), to: configPath)
        XCTAssertThrowsError(try AdapterReader.open(dir)) { XCTAssertTrue("\($0)".contains("dora"), "\($0)") }
        try Fixtures.write(Array(text.replacingOccurrences(of: "\"scale\"", with: "\"scales\"").utf8), to: configPath)
        XCTAssertThrowsError(try AdapterReader.open(dir)) { XCTAssertTrue("\($0)".contains("scale"), "\($0)") }
    }

    func dense(_ a: Tensor, _ b: Tensor, scale: Double) throws -> [Double] {
        let (fa, fb) = (try a.floats(), try b.floats())
        let r = a.shape[0]
        let (inn, out) = (a.shape[1], b.shape[0])
        var d = [Double](repeating: 0, count: out * inn)
        for i in 0..<out {
            for j in 0..<inn {
                var s = 0.0
                for k in 0..<r { s += Double(fb[i * r + k]) * Double(fa[k * inn + j]) }
                d[i * inn + j] = scale * s
            }
        }
        return d
    }
}
