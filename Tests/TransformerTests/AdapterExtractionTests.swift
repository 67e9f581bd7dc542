import XCTest
import AdapterFormat
import AdapterMath
import Tensors
import TestSupport
@testable import Transformer

/// `extract` on (base, base + ΔW) with ΔW the tiny example's task adapter:
/// the update comes back at its true rank, and at lower ranks the error is the
/// tail of ΔW's singular values (LAPACK's dense SVD, numpy's own backend).
final class AdapterExtractionTests: XCTestCase {
    static let examples = Fixtures.root + "/../../examples"

    /// f32 copies of the tiny Llama: the base, and the base plus every module of `adapter`.
    func pair(_ adapter: any AdapterSource) throws -> (base: String, tuned: String) {
        let dir = try Fixtures.scratchDirectory()
        let source = try SafeTensorsFile(path: Self.examples + "/tiny-llama/model/model.safetensors")
        var base: [(name: String, tensor: Tensor)] = []
        var tuned: [(name: String, tensor: Tensor)] = []
        for e in source.entries {
            let w = try source.tensor(e).floats()
            base.append((e.name, try Tensor(floats: w, shape: e.shape)))
            guard let m = adapter.module(String(e.name.dropLast(".weight".count))) else {
                tuned.append((e.name, try Tensor(floats: w, shape: e.shape)))
                continue
            }
            let delta = try dense(adapter, m)
            tuned.append((e.name, try Tensor(floats: zip(w, delta).map { Float(Double($0) + $1) }, shape: e.shape)))
        }
        for (name, tensors) in [("base", base), ("tuned", tuned)] {
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            try SafeTensorsWriter.write(
                tensors, metadata: nil, to: dir + "/\(name)/model.safetensors", overwrite: false)
            for file in ["config.json", "tokenizer.json"] {
                try FileManager.default.copyItem(
                    atPath: Self.examples + "/tiny-llama/model/" + file, toPath: dir + "/\(name)/" + file)
            }
        }
        return (dir + "/base", dir + "/tuned")
    }

    /// s · B · A, row-major, in Double.
    func dense(_ adapter: any AdapterSource, _ m: LoraModuleInfo) throws -> [Double] {
        let (a, b) = try adapter.factors(of: m)
        let d = try LowRankDelta(a: a, b: b, scaling: m.scaling)
        return d.b.multiplied(by: d.a).elements
    }

    func testRecoversTheUpdateAtItsRankAndTheSVDTailBelow() throws {
        let adapter = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let (base, tuned) = try pair(adapter)
        for k in [4, 2, 1] {
            let extraction = try AdapterExtraction(base: base, tuned: tuned, options: .init(rank: k))
            XCTAssertEqual(extraction.plan.count, 21)
            for item in extraction.plan {
                let got = try extraction.extract(layer: item.layer, name: item.name, path: item.path)
                let m = try XCTUnwrap(adapter.module(item.path))
                let truth = try dense(adapter, m)
                let rows = m.outFeatures
                let columns = m.inFeatures
                let sigma = try Matrix<Double>(rows: rows, columns: columns, elements: truth).singularValues()
                let total = sigma.reduce(0) { $0 + $1 * $1 }
                let tail = (sigma.dropFirst(k).reduce(0) { $0 + $1 * $1 } / total).squareRoot()
                // The factors' product against ΔW, and the reported error against the tail.
                var error = 0.0
                for i in 0..<rows {
                    for j in 0..<columns {
                        var x = 0.0
                        for r in 0..<got.info.rank {
                            x += Double(got.b[i * got.info.rank + r]) * Double(got.a[r * columns + j])
                        }
                        error += (x - truth[i * columns + j]) * (x - truth[i * columns + j])
                    }
                }
                let measured = (error / total).squareRoot()
                if k == 4 {
                    XCTAssertLessThan(measured, 1e-5, "\(item.path) at its true rank")
                } else {
                    XCTAssertEqual(measured, tail, accuracy: 1e-5, "\(item.path) rank \(k)")
                    XCTAssertEqual(got.relativeError, tail, accuracy: 1e-5, "\(item.path) reported, rank \(k)")
                }
                for i in 0..<k { XCTAssertEqual(got.singularValues[i], sigma[i], accuracy: 1e-5 * sigma[0]) }
            }
        }
    }

    func testRulesAndModulesAndRefusals() throws {
        let adapter = try AdapterReader.open(Self.examples + "/tiny-llama/task.lora")
        let (base, tuned) = try pair(adapter)
        var options = AdapterExtraction.Options(rank: 8, rule: .frobeniusShare(0.999))
        options.projections = ["q_proj", "v_proj"]
        let extraction = try AdapterExtraction(base: base, tuned: tuned, options: options)
        XCTAssertEqual(extraction.plan.map(\.name), ["q_proj", "v_proj", "q_proj", "v_proj", "q_proj", "v_proj"])
        for item in extraction.plan {
            XCTAssertEqual(try extraction.extract(layer: item.layer, name: item.name, path: item.path).info.rank, 4)
        }
        // A model of another shape is not a fine-tune of this one.
        XCTAssertThrowsError(
            try AdapterExtraction(base: base, tuned: Self.examples + "/world/model", options: .init(rank: 2))
        ) { XCTAssertTrue("\($0)".contains("not a fine-tune"), "\($0)") }
        XCTAssertThrowsError(
            try AdapterExtraction(
                base: Fixtures.path("gguf-models/tiny-llama-bpe.f32.gguf"),
                tuned: Fixtures.path("gguf-models/tiny-qwen2.f32.gguf"), options: .init(rank: 2))
        ) { XCTAssertTrue("\($0)".contains("qwen2"), "\($0)") }
        // GGUF models: a Q8_0 copy against its f32 original, the grown vocabulary of none noted.
        let gguf = try AdapterExtraction(
            base: Fixtures.path("gguf-models/tiny-llama-bpe.f32.gguf"),
            tuned: Fixtures.path("gguf-models/tiny-llama-bpe.q8_0.gguf"), options: .init(rank: 2))
        XCTAssertEqual(gguf.plan.count, 14)
        XCTAssertTrue(gguf.notes.isEmpty)
        options.projections = ["lm_head"]
        XCTAssertThrowsError(try AdapterExtraction(base: base, tuned: tuned, options: options))
    }
}
