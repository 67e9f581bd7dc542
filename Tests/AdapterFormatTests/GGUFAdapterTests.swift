import XCTest
import AdapterFormat
import Tensors
import TestSupport

/// GGUF LoRA adapters written and read back: bit-exact round trips, llama.cpp's
/// tensor names and shapes, q/k rows in llama.cpp's order, scalings folded
/// where llama.cpp's single alpha cannot hold them.
final class GGUFAdapterTests: XCTestCase {
    static let examples = Fixtures.root + "/../../examples"
    /// examples/tiny-llama/model: 4 heads, 2 KV heads of dimension 16.
    static let tinyLlama = LlamaCppLayout(architecture: "llama", headCount: 4, keyValueHeadCount: 2)

    func write(
        _ source: any AdapterSource, to path: String, layout: LlamaCppLayout = tinyLlama,
        modules: [LoraModuleInfo]? = nil, quantizeA: Bool = false
    ) throws {
        var options = LoraWriteOptions()
        options.llamaCpp = layout
        options.quantizeA = quantizeA
        try AdapterWriter.write(
            modules: modules ?? source.modules, metadata: source.metadata, to: path, overwrite: false,
            options: options
        ) { m in try source.factors(of: source.module(m.path) ?? m) }
    }

    func testLoraToGGUFAndBackIsBitExact() throws {
        let source = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let path = try Fixtures.scratchDirectory() + "/task.gguf"
        try write(source, to: path)
        let gguf = try AdapterReader.open(path)
        XCTAssertEqual(gguf.format, .gguf)
        XCTAssertEqual(gguf.modules, source.modules)
        XCTAssertEqual(gguf.metadata.kind, source.metadata.kind)
        for m in source.modules {
            let (a, b) = try source.factors(of: m)
            let (a2, b2) = try gguf.factors(of: m)
            XCTAssertEqual(a.bytes, a2.bytes, m.path)
            XCTAssertEqual(b.bytes, b2.bytes, m.path)
        }
        let back = try Fixtures.scratchDirectory() + "/back.lora"
        try AdapterWriter.write(modules: gguf.modules, metadata: gguf.metadata, to: back, overwrite: false) {
            try gguf.factors(of: $0)
        }
        XCTAssertEqual(try Fixtures.bytes(back), try Fixtures.bytes(Self.examples + "/tiny-llama/task.lora"))
    }

    /// As llama.cpp reads it: names, ne, alpha, and B's q/k rows interleaved per head.
    func testTheFileIsLaidOutAsLlamaCppReadsIt() throws {
        let source = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let path = try Fixtures.scratchDirectory() + "/task.gguf"
        try write(source, to: path)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(try file.string("general.type"), "adapter")
        XCTAssertEqual(try file.string("adapter.type"), "lora")
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        let m = try XCTUnwrap(source.module("model.layers.1.self_attn.k_proj"))
        XCTAssertEqual(try file.float("adapter.lora.alpha"), m.alpha)
        let a = try XCTUnwrap(file.tensor("blk.1.attn_k.weight.lora_a"))
        let b = try XCTUnwrap(file.tensor("blk.1.attn_k.weight.lora_b"))
        XCTAssertEqual(a.dimensions, [m.inFeatures, m.rank])
        XCTAssertEqual(b.dimensions, [m.rank, m.outFeatures])
        // k: 2 heads of 16 rows; HF row half·8 + j of a head is stored at 2j + half.
        let ours = try source.factors(of: m).b.floats()
        let stored = try file.floats(of: b)
        let r = m.rank
        for head in 0..<2 {
            for half in 0..<2 {
                for j in 0..<8 {
                    let hf = head * 16 + half * 8 + j
                    let gg = head * 16 + 2 * j + half
                    XCTAssertEqual(Array(stored[(gg * r)..<((gg + 1) * r)]), Array(ours[(hf * r)..<((hf + 1) * r)]))
                }
            }
        }
        // v is not reordered.
        let v = try XCTUnwrap(source.module("model.layers.1.self_attn.v_proj"))
        XCTAssertEqual(
            try file.floats(of: XCTUnwrap(file.tensor("blk.1.attn_v.weight.lora_b"))),
            try source.factors(of: v).b.floats())
    }

    /// Unequal ranks or scalings: each module's scaling folded into B, no alpha (scale 1).
    func testUnequalScalingsAreFoldedIntoB() throws {
        let source = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let modules = source.modules.enumerated().map { i, m in
            i % 3 == 0 ? m.with(alpha: 3 * m.alpha, useRSLoRA: true) : m
        }
        let path = try Fixtures.scratchDirectory() + "/folded.gguf"
        try write(source, to: path, modules: modules)
        let file = try GGUFFile(path: path)
        XCTAssertNil(try file.float("adapter.lora.alpha"))
        let gguf = try AdapterReader.open(path)
        for (m, read) in zip(modules, gguf.modules) {
            XCTAssertEqual(read.scaling, 1, m.path)
            let (a, b) = try source.factors(of: source.module(m.path)!)
            let (a2, b2) = try gguf.factors(of: read)
            XCTAssertEqual(a.bytes, a2.bytes)
            let expected = try b.floats().map { $0 * Float(m.scaling) }
            XCTAssertEqual(try b2.floats(), expected, m.path)
        }
    }

    /// lora_a as Q8_0, dequantized on reading; B stays f32.
    func testQ8_0KeepsBAndQuantizesA() throws {
        let source = try AdapterReader.open(Self.examples + "/world/task.lora")
        let path = try Fixtures.scratchDirectory() + "/q8.gguf"
        let world = LlamaCppLayout(architecture: "llama", headCount: 4, keyValueHeadCount: 2)
        try write(source, to: path, layout: world, quantizeA: true)
        let file = try GGUFFile(path: path)
        let gguf = try AdapterReader.open(path)
        for m in source.modules {
            let name = "blk.\(m.layer ?? -1).\(LlamaCppLayout.tensorNames[m.targetName] ?? "?").weight.lora_a"
            XCTAssertEqual(try XCTUnwrap(file.tensor(name), name).type, m.inFeatures % 32 == 0 ? .q8_0 : .f32)
            let (a, _) = try source.factors(of: m)
            let (a2, _) = try gguf.factors(of: try XCTUnwrap(gguf.module(m.path)))
            let x = try a.floats()
            let y = try a2.floats()
            let scale = x.map(abs).max() ?? 1
            for (p, q) in zip(x, y) { XCTAssertEqual(p, q, accuracy: scale / 127, m.path) }
        }
    }

    func testRefusals() throws {
        let source = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let dir = try Fixtures.scratchDirectory()
        XCTAssertThrowsError(
            try AdapterWriter.write(
                modules: source.modules, metadata: source.metadata, to: dir + "/x.gguf", overwrite: false,
                factors: source.factors(of:))
        ) { XCTAssertTrue("\($0)".contains("--model"), "\($0)") }
        // A GGUF model is not an adapter.
        XCTAssertThrowsError(try AdapterReader.open(Fixtures.path("gguf-models/tiny-qwen2.q8_0.gguf"))) {
            XCTAssertTrue("\($0)".contains("not a LoRA adapter"), "\($0)")
        }
        // q8_0 is for GGUF outputs only.
        var options = LoraWriteOptions()
        options.quantizeA = true
        XCTAssertThrowsError(
            try AdapterWriter.write(
                modules: source.modules, metadata: source.metadata, to: dir + "/x.lora", overwrite: false,
                options: options, factors: source.factors(of:)))
    }
}
