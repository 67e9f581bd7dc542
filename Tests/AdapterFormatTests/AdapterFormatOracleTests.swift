import XCTest
import AdapterFormat
import Tensors
import TestSupport

/// The GGUF and mlx-lm adapter formats against the reference tools
/// (Tests/Fixtures/adapter-formats, make_adapter_format_fixtures.py): files
/// made by llama.cpp's convert_lora_to_gguf.py and by mlx-lm itself, with the
/// ΔW llama.cpp and mlx-lm apply; and our GGUF writer against the converter.
final class AdapterFormatOracleTests: XCTestCase {
    static let examples = Fixtures.root + "/../../examples"
    static let tinyLlama = LlamaCppLayout(architecture: "llama", headCount: 4, keyValueHeadCount: 2)

    /// scaling · B · A, row-major.
    func dense(_ source: any AdapterSource, _ m: LoraModuleInfo) throws -> [Double] {
        let (a, b) = try source.factors(of: m)
        let (fa, fb) = (try a.floats(), try b.floats())
        var d = [Double](repeating: 0, count: m.outFeatures * m.inFeatures)
        for i in 0..<m.outFeatures {
            for j in 0..<m.inFeatures {
                var s = 0.0
                for k in 0..<m.rank { s += Double(fb[i * m.rank + k]) * Double(fa[k * m.inFeatures + j]) }
                d[i * m.inFeatures + j] = m.scaling * s
            }
        }
        return d
    }

    func flat(_ v: JSONValue?) -> [Double] {
        (v?.arrayValue ?? []).flatMap { $0.arrayValue?.compactMap(\.doubleValue) ?? [$0.doubleValue ?? .nan] }
    }

    func frobenius(_ d: [Double]) -> Double { d.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Files llama.cpp's converter wrote, read with the base model's heads: the ΔW llama.cpp applies.
    func testConvertedGGUFAdaptersGiveLlamaCppsUpdate() throws {
        for name in ["task-peft.f32", "patterns-rslora-peft.f32", "task-peft.q8_0"] {
            let expected = try Fixtures.json("adapter-formats/\(name).gguf.json")
            let source = try AdapterReader.open(Fixtures.path("adapter-formats/\(name).gguf"), layout: Self.tinyLlama)
            let modules = try XCTUnwrap(expected["modules"]?.objectValue)
            XCTAssertEqual(source.modules.count, modules.count, name)
            for (path, info) in modules {
                let m = try XCTUnwrap(source.module(path), "\(name) \(path)")
                let d = try dense(source, m)
                let norm = try XCTUnwrap(info["frobenius_llama_cpp_delta"]?.doubleValue)
                XCTAssertEqual(frobenius(d), norm, accuracy: 1e-5 * norm, "\(name) \(path)")
                for sample in info["samples_llama_cpp_delta"]?.arrayValue ?? [] {
                    let s = sample.arrayValue?.compactMap(\.doubleValue) ?? []
                    guard s.count == 3 else { continue }
                    XCTAssertEqual(d[Int(s[0]) * m.inFeatures + Int(s[1])], s[2], accuracy: 1e-5, "\(name) \(path)")
                }
            }
            for (path, entry) in expected["dense_delta"]?.objectValue ?? [] {
                let m = try XCTUnwrap(source.module(path))
                let theirs = flat(entry["llama_cpp"])
                for (x, y) in zip(try dense(source, m), theirs) {
                    XCTAssertEqual(x, y, accuracy: 1e-5, "\(name) \(path)")
                }
            }
        }
        // Without head counts, q and k cannot be put back: refused by name.
        XCTAssertThrowsError(try AdapterReader.open(Fixtures.path("adapter-formats/task-peft.f32.gguf"))) {
            XCTAssertTrue("\($0)".contains("--model"), "\($0)")
        }
    }

    /// Our writer on the same PEFT adapter gives the converter's tensors, byte for byte (f32).
    func testOurGGUFTensorsAreTheConverters() throws {
        let peft = try AdapterReader.open(Self.examples + "/tiny-llama/task-peft")
        let path = try Fixtures.scratchDirectory() + "/ours.gguf"
        var options = LoraWriteOptions()
        options.llamaCpp = Self.tinyLlama
        try AdapterWriter.write(
            modules: peft.modules, metadata: peft.metadata, to: path, overwrite: false, options: options,
            factors: peft.factors(of:))
        let ours = try GGUFFile(path: path)
        let theirs = try GGUFFile(path: Fixtures.path("adapter-formats/task-peft.f32.gguf"))
        XCTAssertEqual(Set(ours.tensors.map(\.name)), Set(theirs.tensors.map(\.name)))
        for t in theirs.tensors {
            let o = try XCTUnwrap(ours.tensor(t.name))
            XCTAssertEqual(o.dimensions, t.dimensions, t.name)
            XCTAssertEqual(o.type, t.type, t.name)
            XCTAssertEqual(Array(ours.bytes(of: o)), Array(theirs.bytes(of: t)), t.name)
        }
        for key in ["general.type", "general.architecture", "adapter.type"] {
            XCTAssertEqual(try ours.string(key), try theirs.string(key), key)
        }
        XCTAssertEqual(try ours.float("adapter.lora.alpha"), try theirs.float("adapter.lora.alpha"))
    }

    /// rsLoRA and rank/alpha patterns, which the converter drops: our file, applied as llama.cpp
    /// applies it (scale alpha/r, or 1 without alpha; B's rows in its order), gives PEFT's ΔW.
    func testOurGGUFKeepsPerModuleScalingsLlamaCppWouldLose() throws {
        let peft = try AdapterReader.open(Fixtures.path("adapter-formats/patterns-rslora-peft"))
        let path = try Fixtures.scratchDirectory() + "/ours.gguf"
        var options = LoraWriteOptions()
        options.llamaCpp = Self.tinyLlama
        try AdapterWriter.write(
            modules: peft.modules, metadata: peft.metadata, to: path, overwrite: false, options: options,
            factors: peft.factors(of:))
        let file = try GGUFFile(path: path)
        let alpha = try file.float("adapter.lora.alpha")
        for m in peft.modules {
            let base = "blk.\(m.layer!).\(LlamaCppLayout.tensorNames[m.targetName]!).weight"
            let a = try file.floats(of: XCTUnwrap(file.tensor(base + ".lora_a")))
            let bInfo = try XCTUnwrap(file.tensor(base + ".lora_b"))
            let b = try file.floats(of: bInfo)
            let rank = bInfo.columns
            let scale = alpha.map { $0 / Double(rank) } ?? 1
            let order = Self.tinyLlama.rowOrder(of: m.targetName, rows: m.outFeatures)
            let truth = try dense(peft, m)
            for i in 0..<m.outFeatures {
                let stored = order?[i] ?? i
                for j in 0..<m.inFeatures {
                    var s = 0.0
                    for k in 0..<rank { s += Double(b[stored * rank + k]) * Double(a[k * m.inFeatures + j]) }
                    XCTAssertEqual(scale * s, truth[i * m.inFeatures + j], accuracy: 1e-5, m.path)
                }
            }
        }
    }

    /// An adapter mlx-lm wrote (mlx-lm 0.32.2): ΔW = scale · lora_bᵀ · lora_aᵀ, as LoRALinear.fuse.
    func testMLXAdapterGivesMLXsUpdate() throws {
        let expected = try Fixtures.json("adapter-formats/mlx-adapter/expected.json")
        let source = try AdapterReader.open(Fixtures.path("adapter-formats/mlx-adapter"))
        XCTAssertEqual(source.format, .mlx)
        let modules = try XCTUnwrap(expected["modules"]?.objectValue)
        XCTAssertEqual(source.modules.map(\.path).sorted(), modules.map(\.key).sorted())
        for (path, info) in modules {
            let m = try XCTUnwrap(source.module(path))
            XCTAssertEqual(m.rank, info["rank"]?.intValue)
            XCTAssertEqual(m.scaling, try XCTUnwrap(info["scale"]?.doubleValue), accuracy: 1e-12)
            let d = try dense(source, m)
            let norm = try XCTUnwrap(info["frobenius_delta"]?.doubleValue)
            XCTAssertEqual(frobenius(d), norm, accuracy: 1e-5 * norm, path)
        }
        for (path, entry) in expected["dense_delta"]?.objectValue ?? [] {
            let m = try XCTUnwrap(source.module(path))
            for (x, y) in zip(try dense(source, m), flat(entry["delta"])) { XCTAssertEqual(x, y, accuracy: 1e-6, path) }
        }
    }

    /// Mixed ranks: padded with zeros to mlx-lm's one rank, dropped again on reading.
    func testMixedRanksArePaddedForMLXAndTrimmedBack() throws {
        let peft = try AdapterReader.open(Fixtures.path("adapter-formats/patterns-rslora-peft"))
        XCTAssertGreaterThan(Set(peft.modules.map(\.rank)).count, 1)
        let dir = try Fixtures.scratchDirectory() + "/mlx"
        try AdapterWriter.write(
            modules: peft.modules, metadata: peft.metadata, to: dir, overwrite: false, format: .mlx,
            factors: peft.factors(of:))
        let weights = try SafeTensorsFile(path: dir + "/adapters.safetensors")
        let largest = peft.modules.map(\.rank).max()!
        XCTAssertTrue(weights.entries.allSatisfy { $0.shape.contains(largest) })
        let back = try AdapterReader.open(dir)
        XCTAssertEqual(back.modules.map(\.rank), peft.modules.map(\.rank))
        for m in peft.modules {
            let read = try XCTUnwrap(back.module(m.path))
            for (x, y) in zip(try dense(back, read), try dense(peft, m)) {
                XCTAssertEqual(x, y, accuracy: 1e-6, m.path)
            }
        }
    }
}
