import XCTest
import AdapterFormat
import AdapterMath
import Tensors
import TestSupport

/// `combine`'s methods against real PEFT merges and numpy's dense sums.
final class MergeTests: XCTestCase {
    func adapter(_ name: String) throws -> any AdapterSource {
        try AdapterReader.open(Fixtures.path("peft/\(name)"))
    }

    /// Runs a merge in memory: module path → (A, B, report).
    func merge(_ names: [String], _ options: MergeOptions) throws -> [String: (
        a: Tensor, b: Tensor, report: ModuleMergeReport
    )] {
        let merger = try AdapterMerger(inputs: try names.map(adapter), options: options)
        var out: [String: (a: Tensor, b: Tensor, report: ModuleMergeReport)] = [:]
        for m in merger.outputModules {
            let r = try merger.merge(m)
            XCTAssertEqual(r.a.shape, [m.rank, m.inFeatures])
            XCTAssertEqual(r.b.shape, [m.outFeatures, m.rank])
            out[m.path] = r
        }
        return out
    }

    /// B · A as a dense row-major Double array.
    func dense(_ a: Tensor, _ b: Tensor) throws -> [Double] {
        let d = try LowRankDelta(a: a, b: b, scaling: 1)
        return d.b.multiplied(by: d.a).elements
    }

    func relativeDifference(_ x: [Double], _ y: [Double]) -> Double {
        var num = 0.0
        var den = 0.0
        for (a, b) in zip(x, y) {
            num += (a - b) * (a - b)
            den += b * b
        }
        return (num / max(den, 1e-300)).squareRoot()
    }

    /// A GGUF output with lora_a as Q8_0: the certificate is the error of the
    /// file as read back (dequantized), not of the factors before quantizing.
    func testQ8_0CertificateMeasuresTheFileAsStored() throws {
        let target = try SafeTensorsFile(path: Fixtures.path("merge/target_task_align.safetensors"))
        let merger = try AdapterMerger(
            inputs: [try adapter("task"), try adapter("align")],
            options: MergeOptions(method: .concat, weights: [1, 0.5]))
        var options = LoraWriteOptions()
        options.llamaCpp = LlamaCppLayout(architecture: "llama", headCount: 4, keyValueHeadCount: 2)
        options.quantizeA = true
        let path = try Fixtures.scratchDirectory() + "/merged.q8_0.gguf"
        let report = try merger.write(to: path, overwrite: false, options: options)
        let read = try AdapterReader.open(path)
        var quantized = 0
        for m in report.modules {
            let module = try XCTUnwrap(read.module(m.path), m.path)
            let (a, b) = try read.factors(of: module)
            let stored = try dense(a, b).map { $0 * module.scaling }
            let expected = try target.tensor(XCTUnwrap(target.entries.first { $0.name == m.path })).doubles()
            let actual = relativeDifference(stored, expected)
            XCTAssertEqual(m.relativeError, actual, accuracy: 1e-3 * actual + 1e-7, m.path)
            if m.inFeatures % 32 == 0 {
                XCTAssertGreaterThan(m.relativeError, 1e-4, "\(m.path): Q8_0 rounds lora_a")
                quantized += 1
            }
        }
        XCTAssertEqual(quantized, 12, "every projection but down_proj (48 wide) holds lora_a as Q8_0")
    }

    func testConcatIsTheExactWeightedSumAcrossRanksRsLoRAAndPartialModules() throws {
        let target = try SafeTensorsFile(path: Fixtures.path("merge/target_task_align.safetensors"))
        let merged = try merge(["task", "align"], MergeOptions(method: .concat, weights: [1, 0.5]))
        XCTAssertEqual(merged.count, target.entries.count)
        for e in target.entries {
            let r = try XCTUnwrap(merged[e.name], e.name)
            let expected = try target.tensor(e).doubles()
            XCTAssertLessThan(relativeDifference(try dense(r.a, r.b), expected), 1e-6, e.name)
            XCTAssertLessThan(r.report.relativeError, 1e-6)
            XCTAssertEqual(
                r.report.outputRank, e.name.hasSuffix("down_proj") ? 8 : 12, "rank = sum of ranks, \(e.name)")
            XCTAssertEqual(r.report.isPartial, e.name.hasSuffix("down_proj"))
        }
        // Subtraction is a real use.
        let negTarget = try SafeTensorsFile(path: Fixtures.path("merge/target_task_align_neg.safetensors"))
        let negative = try merge(["task", "align"], MergeOptions(method: .concat, weights: [1, -1]))
        for e in negTarget.entries {
            let r = try XCTUnwrap(negative[e.name])
            XCTAssertLessThan(relativeDifference(try dense(r.a, r.b), try negTarget.tensor(e).doubles()), 1e-6, e.name)
        }
    }

    func testAddMatchesPEFTLinearFactorForFactor() throws {
        let expected = try Fixtures.json("merge/expected.json")["linear_task_align8"]
        let peft = try SafeTensorsFile(path: Fixtures.path("merge/linear_task_align8.safetensors"))
        let merged = try merge(["task", "align8"], MergeOptions(method: .add, weights: [1, 0.5]))
        for (path, info) in try XCTUnwrap(expected?["modules"]?.objectValue) {
            let r = try XCTUnwrap(merged[path])
            let a = try peft.tensor("base_model.model.\(path).lora_A.weight").doubles()
            let b = try peft.tensor("base_model.model.\(path).lora_B.weight").doubles()
            XCTAssertLessThan(relativeDifference(try r.a.doubles(), a), 1e-6, path)
            XCTAssertLessThan(relativeDifference(try r.b.doubles(), b), 1e-6, path)
            // The reported cross-term error is PEFT's own error against the target.
            let peftError = try XCTUnwrap(info["rel_fro_error"]?.doubleValue)
            XCTAssertTrue(
                isClose(r.report.relativeError, peftError, rel: 1e-5),
                "\(path): \(r.report.relativeError) vs \(peftError)")
            XCTAssertTrue(isClose(r.report.targetNorm, try XCTUnwrap(info["target_fro"]?.doubleValue), rel: 1e-6))
        }
    }

    func testAddRefusesUnequalRanks() {
        XCTAssertThrowsError(
            try AdapterMerger(
                inputs: [try adapter("task"), try adapter("align")],
                options: MergeOptions(method: .add, weights: [1, 1]))
        ) { error in
            XCTAssertEqual((error as? MergeError)?.code, .unsupportedByMethod)
            XCTAssertTrue("\(error)".contains("rank 8") && "\(error)".contains(" 4 in "), "\(error)")
        }
    }

    func testSVDMatchesNumpySingularValuesAndIsOptimal() throws {
        let expected = try XCTUnwrap(Fixtures.json("merge/expected.json")["target_task_align"]?["modules"]?.objectValue)
        // Rank large enough to keep everything: the factors' spectrum is the exact sum's.
        let full = try merge(["task", "align"], MergeOptions(method: .svd, weights: [1, 0.5], rank: 64))
        let truncated = try merge(["task", "align"], MergeOptions(method: .svd, weights: [1, 0.5], rank: 6))
        for (path, info) in expected {
            let sv = try XCTUnwrap(info["singular_values"]?.arrayValue).compactMap(\.doubleValue)
            let maxRank = try XCTUnwrap(info["max_rank"]?.intValue)
            let r = try XCTUnwrap(full[path])
            let ours = try LowRankDelta(storedA: r.a, storedB: r.b).singularValues()
            for i in 0..<maxRank {
                XCTAssertTrue(isClose(ours[i], sv[i], rel: 1e-4), "\(path) σ\(i): \(ours[i]) vs \(sv[i])")
            }
            XCTAssertLessThan(r.report.relativeError, 1e-6)
            // Rank 6: the error is exactly the tail of the spectrum (Eckart–Young), and the energy is reported.
            let t = try XCTUnwrap(truncated[path])
            let total = sv.reduce(0) { $0 + $1 * $1 }
            let kept = sv.prefix(6).reduce(0) { $0 + $1 * $1 }
            XCTAssertTrue(isClose(t.report.relativeError, ((total - kept) / total).squareRoot(), rel: 1e-4), path)
            XCTAssertTrue(isClose(try XCTUnwrap(t.report.retainedEnergy), kept / total, rel: 1e-6), path)
        }
    }

    func testSVDIsAsGoodAsPEFTsDenseSVD() throws {
        let expected = try XCTUnwrap(Fixtures.json("merge/expected.json")["svd_task_align8"]?["modules"]?.objectValue)
        let merged = try merge(["task", "align8"], MergeOptions(method: .svd, weights: [1, 0.5], rank: 8))
        for (path, info) in expected {
            let r = try XCTUnwrap(merged[path])
            XCTAssertTrue(
                isClose(r.report.relativeError, try XCTUnwrap(info["rel_fro_error"]?.doubleValue), rel: 1e-4), path)
        }
    }

    func testOneAdapterWithWeightOneComesBackExact() throws {
        for name in ["task", "rslora", "patterns"] {
            let source = try adapter(name)
            let merged = try merge([name], MergeOptions(method: .concat, weights: [1]))
            for m in source.modules {
                let (a, b) = try source.factors(of: m)
                let original = try dense(a, b).map { $0 * m.scaling }
                let r = try XCTUnwrap(merged[m.path])
                XCTAssertLessThan(relativeDifference(try dense(r.a, r.b), original), 1e-7, "\(name): \(m.path)")
                XCTAssertLessThan(r.report.relativeError, 1e-7)
            }
        }
    }

    func testDareAtFullDensityIsTheExactSumAndTiesTrimsByMagnitude() throws {
        let exact = try merge(["task", "align8"], MergeOptions(method: .dare, weights: [1, 0.5], density: 1, seed: 3))
        for (_, r) in exact { XCTAssertLessThan(r.report.relativeError, 1e-5) }
        let dare = try merge(
            ["task", "align8"], MergeOptions(method: .dare, weights: [1, 0.5], rank: 16, density: 0.3, seed: 3))
        let again = try merge(
            ["task", "align8"], MergeOptions(method: .dare, weights: [1, 0.5], rank: 16, density: 0.3, seed: 3))
        let other = try merge(
            ["task", "align8"], MergeOptions(method: .dare, weights: [1, 0.5], rank: 16, density: 0.3, seed: 4))
        for (path, r) in dare {
            XCTAssertEqual(r.a, again[path]?.a, "seeded runs are identical")
            XCTAssertNotEqual(r.a, other[path]?.a, "another seed drops other entries")
            XCTAssertGreaterThan(r.report.relativeError, 0.05, "dropping 70% of entries is not exact")
        }
        let ties = try merge(["task", "align8"], MergeOptions(method: .ties, weights: [1, 0.5], density: 0.2))
        for (_, r) in ties {
            XCTAssertGreaterThan(r.report.relativeError, 0.1)
            XCTAssertLessThanOrEqual(try XCTUnwrap(r.report.retainedEnergy), 1)
        }
    }

    func testRefusesIncompatibleInputs() throws {
        let dir = try Fixtures.scratchDirectory()
        let task = try adapter("task")
        var renamed = task.metadata
        renamed.baseModel = "meta-llama/Llama-3.1-8B"
        try AdapterWriter.write(
            modules: task.modules, metadata: renamed, to: dir + "/other.lora", overwrite: false,
            factors: task.factors(of:))
        let other = try AdapterReader.open(dir + "/other.lora")
        XCTAssertThrowsError(try AdapterMerger(inputs: [task, other], options: MergeOptions(weights: [1, 1]))) {
            error in
            XCTAssertEqual((error as? MergeError)?.code, .baseModelMismatch)
            XCTAssertTrue("\(error)".contains("Llama-3.1-8B"), "\(error)")
        }
        XCTAssertNoThrow(
            try AdapterMerger(inputs: [task, other], options: MergeOptions(weights: [1, 1], allowBaseMismatch: true)))

        // The same module path with another shape.
        let m = task.modules[0]
        let reshaped = LoraModuleInfo(
            path: m.path, rank: 2, inFeatures: m.inFeatures + 1, outFeatures: m.outFeatures,
            alpha: 2, useRSLoRA: false, dtype: .f32)
        try AdapterWriter.write(modules: [reshaped], metadata: task.metadata, to: dir + "/shape.lora", overwrite: false)
        { info in
            (
                try Tensor(floats: [Float](repeating: 0.1, count: 2 * info.inFeatures), shape: [2, info.inFeatures]),
                try Tensor(floats: [Float](repeating: 0.1, count: 2 * info.outFeatures), shape: [info.outFeatures, 2])
            )
        }
        XCTAssertThrowsError(
            try AdapterMerger(
                inputs: [task, try AdapterReader.open(dir + "/shape.lora")], options: MergeOptions(weights: [1, 1]))
        ) { error in
            XCTAssertTrue(
                "\(error)".contains(m.path) && "\(error)".contains("\(m.outFeatures)×\(m.inFeatures + 1)"), "\(error)")
        }

        // NaN in an input.
        try AdapterWriter.write(
            modules: [m], metadata: task.metadata, to: dir + "/nan.lora", overwrite: false,
            allowNonFinite: true
        ) { info in
            let (a, b) = try task.factors(of: info)
            var values = try a.floats()
            values[3] = .nan
            return (try Tensor(floats: values, shape: a.shape), b)
        }
        let nan = try AdapterMerger(
            inputs: [task, try AdapterReader.open(dir + "/nan.lora")], options: MergeOptions(weights: [1, 1]))
        XCTAssertThrowsError(try nan.merge(nan.outputModules[0])) { error in
            XCTAssertEqual((error as? MergeError)?.code, .nonFinite)
        }
        XCTAssertThrowsError(try AdapterMerger(inputs: [task], options: MergeOptions(weights: [1, 2])))
        XCTAssertThrowsError(
            try AdapterMerger(inputs: [task], options: MergeOptions(method: .ties, weights: [1], density: 0)))
    }

    func testAnErrorInALaterModuleSurfacesWhenTheMergeReachesIt() throws {
        // The merger reads module i + 1 in the background while it merges module i:
        // the look-ahead must neither lose an error nor report it early.
        let task = try adapter("task")
        let dir = try Fixtures.scratchDirectory()
        let poisoned = task.modules[2].path
        try AdapterWriter.write(
            modules: task.modules, metadata: task.metadata, to: dir + "/late-nan.lora", overwrite: false,
            allowNonFinite: true
        ) { info in
            let (a, b) = try task.factors(of: info)
            guard info.path == poisoned else { return (a, b) }
            var values = try b.floats()
            values[0] = .infinity
            return (a, try Tensor(floats: values, shape: b.shape))
        }
        let merger = try AdapterMerger(
            inputs: [task, try AdapterReader.open(dir + "/late-nan.lora")],
            options: MergeOptions(weights: [1, 1]))
        for (i, m) in merger.outputModules.enumerated() {
            if m.path == poisoned {
                XCTAssertThrowsError(try merger.merge(m)) { error in
                    XCTAssertEqual((error as? MergeError)?.code, .nonFinite)
                    XCTAssertTrue("\(error)".contains(poisoned), "\(error)")
                }
            } else {
                XCTAssertNoThrow(try merger.merge(m), "module \(i)")
            }
        }
        // Out of order, without the look-ahead, the same answers.
        XCTAssertNoThrow(try merger.merge(merger.outputModules[0]))
        XCTAssertThrowsError(try merger.merge(try XCTUnwrap(merger.outputModules.first { $0.path == poisoned })))
    }

    func testLayerWeightsScaleEachInputPerLayerBand() throws {
        let task = try adapter("task")
        let align = try adapter("align8")
        var options = MergeOptions(method: .concat, weights: [1, 0.5])
        options.layerBands = [1: try LayerBands(parsing: "0=2,1-=0")]
        let merged = try merge(["task", "align8"], options)
        for path in Set(task.modules.map(\.path) + align.modules.map(\.path)) {
            let layer = (task.module(path) ?? align.module(path))?.layer ?? 0
            // The dense target: task·1 + align·0.5·(2 in layer 0, 0 above).
            var expected: [Double]?
            for (source, w) in [(task, 1.0), (align, 0.5 * (layer == 0 ? 2 : 0))] {
                guard let m = source.module(path) else { continue }
                let d = try LowRankDelta(module: m, factors: try source.factors(of: m))
                let dense = d.b.multiplied(by: d.a).elements.map { $0 * w }
                expected = expected.map { zip($0, dense).map(+) } ?? dense
            }
            let r = try XCTUnwrap(merged[path], path)
            XCTAssertLessThan(relativeDifference(try dense(r.a, r.b), try XCTUnwrap(expected)), 1e-6, path)
            // Above layer 0 the alignment adapter takes no rank at all.
            if layer > 0, let t = task.module(path) { XCTAssertEqual(r.report.outputRank, t.rank, path) }
        }
        XCTAssertThrowsError(try LayerBands(parsing: "3-1=1"))
        XCTAssertThrowsError(try LayerBands(parsing: "0-4=1,4=0"))
        XCTAssertThrowsError(try LayerBands(parsing: "x=1"))
        XCTAssertEqual(try LayerBands(parsing: "16-=0,-3=1.5,5=2").description, "0-3=1.5,5=2,16-=0")
        XCTAssertEqual(try LayerBands(parsing: "16-=0").factor(layer: 20), 0)
        XCTAssertEqual(try LayerBands(parsing: "16-=0").factor(layer: 15), 1)
        var bad = MergeOptions(weights: [1, 1])
        bad.layerBands = [2: try LayerBands(parsing: "0=1")]
        XCTAssertThrowsError(try AdapterMerger(inputs: [task, align], options: bad))
    }

    func testTiesOfOneAdapterAtFullDensityIsThatAdapter() throws {
        let merged = try merge(["task"], MergeOptions(method: .ties, weights: [1], density: 1))
        for (_, r) in merged { XCTAssertLessThan(r.report.relativeError, 1e-5) }
    }

    func testDiffOfAnAdapterWithItselfAndItsNegation() throws {
        let task = try adapter("task")
        for m in task.modules.prefix(4) {
            let d = try LowRankDelta(module: m, factors: try task.factors(of: m))
            let same = try ModuleComparison(path: m.path, layer: m.layer, a: d, b: d)
            XCTAssertEqual(same.cosine, 1, accuracy: 1e-10)
            XCTAssertEqual(same.normRatio, 1, accuracy: 1e-12)
            XCTAssertEqual(same.columnAngles.max() ?? 99, 0, accuracy: 1e-5)
            let negated = try ModuleComparison(path: m.path, layer: m.layer, a: d, b: d.scaled(by: -2))
            XCTAssertEqual(negated.cosine, -1, accuracy: 1e-10)
            XCTAssertEqual(negated.normRatio, 2, accuracy: 1e-10)
            XCTAssertEqual(negated.rowAngles.max() ?? 99, 0, accuracy: 1e-5, "same subspaces")
        }
        // Against a dense computation on another adapter.
        let align = try adapter("align8")
        let m = task.modules[5]
        let n = try XCTUnwrap(align.module(m.path))
        let da = try LowRankDelta(module: m, factors: try task.factors(of: m))
        let db = try LowRankDelta(module: n, factors: try align.factors(of: n))
        let x = da.b.multiplied(by: da.a).elements
        let y = db.b.multiplied(by: db.a).elements
        let dot = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
        let cos = dot / (x.reduce(0) { $0 + $1 * $1 }.squareRoot() * y.reduce(0) { $0 + $1 * $1 }.squareRoot())
        XCTAssertEqual(try ModuleComparison(path: m.path, layer: m.layer, a: da, b: db).cosine, cos, accuracy: 1e-10)
    }
}
