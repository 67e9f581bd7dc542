import XCTest
import AdapterFormat
import AdapterMath
import Tensors
import TestSupport

/// ΔW statistics against numpy's dense float64 computation in the fixture script.
final class DeltaStatisticsTests: XCTestCase {
    func testMatchesNumpyOnRealPEFTAdapters() throws {
        for name in ["basic", "rslora", "patterns", "task", "align", "gpt2_fifo"] {
            let expected = try Fixtures.json("peft/\(name)/expected.json")
            let adapter = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/\(name)"))
            var total = 0.0
            for m in try XCTUnwrap(expected["modules"]?.arrayValue) {
                let info = try XCTUnwrap(adapter.module(try XCTUnwrap(m["name"]?.stringValue)))
                let stats = try DeltaStatistics(module: info, factors: try adapter.factors(of: info))
                let label = "\(name): \(info.path)"
                XCTAssertTrue(isClose(stats.frobenius, try XCTUnwrap(m["delta_fro"]?.doubleValue), rel: 1e-10), label)
                XCTAssertTrue(
                    isClose(stats.spectral, try XCTUnwrap(m["delta_spectral"]?.doubleValue), rel: 1e-10), label)
                XCTAssertTrue(
                    isClose(stats.effectiveRank, try XCTUnwrap(m["effective_rank"]?.doubleValue), rel: 1e-9), label)
                let sv = try XCTUnwrap(m["singular_values"]?.arrayValue).compactMap(\.doubleValue)
                XCTAssertEqual(stats.singularValues.count, sv.count, label)
                for (x, y) in zip(stats.singularValues, sv) {
                    XCTAssertTrue(isClose(x, y, rel: 1e-9), "\(label): \(x) vs \(y)")
                }
                XCTAssertEqual(stats.nonFinite, 0)
                total += stats.frobenius * stats.frobenius
            }
            XCTAssertTrue(
                isClose(total.squareRoot(), try XCTUnwrap(expected["totals"]?["delta_fro"]?.doubleValue), rel: 1e-10),
                name)
        }
    }

    /// Moving scale between A and B, or between alpha and the factors, changes nothing.
    func testInvariantToHowTheScaleIsSplit() throws {
        let adapter = try PEFTDirectoryAdapter(directory: Fixtures.path("peft/task"))
        let info = adapter.modules[2]
        let (a, b) = try adapter.factors(of: info)
        let base = try DeltaStatistics(module: info, factors: (a, b))
        for c in [1e-3, 0.37, 8.0, 1e3] {
            let a2 = try Tensor(floats: try a.floats().map { $0 * Float(c) }, shape: a.shape)
            let b2 = try Tensor(floats: try b.floats().map { $0 / Float(c) }, shape: b.shape)
            let s = try DeltaStatistics(module: info, factors: (a2, b2))
            XCTAssertTrue(isClose(s.frobenius, base.frobenius, rel: 1e-5), "c = \(c)")
            XCTAssertTrue(isClose(s.spectral, base.spectral, rel: 1e-5), "c = \(c)")
            XCTAssertTrue(isClose(s.effectiveRank, base.effectiveRank, rel: 1e-5), "c = \(c)")
        }
        // Folding the scaling into B with alpha = r gives the same update.
        let folded = try Tensor(floats: try b.floats().map { $0 * Float(info.scaling) }, shape: b.shape)
        let canonical = try DeltaStatistics(module: info.with(alpha: Double(info.rank)), factors: (a, folded))
        XCTAssertTrue(isClose(canonical.frobenius, base.frobenius, rel: 1e-6))
    }

    func testNonFiniteFactorsAreCountedNotPropagated() throws {
        let info = LoraModuleInfo(
            path: "m", rank: 2, inFeatures: 3, outFeatures: 2, alpha: 2, useRSLoRA: false, dtype: .f32)
        let a = try Tensor(floats: [1, .nan, 0, 0, 1, 0], shape: [2, 3])
        let b = try Tensor(floats: [1, 0, 0, .infinity], shape: [2, 2])
        let s = try DeltaStatistics(module: info, factors: (a, b))
        XCTAssertEqual(s.nonFinite, 2)
        XCTAssertTrue(s.frobenius.isNaN)
    }

    func testFrobeniusInnerProductMatchesDenseProduct() throws {
        var rng = TestRandom(seed: 4)
        func delta(_ r: Int) -> LowRankDelta {
            LowRankDelta(
                a: Matrix(rows: r, columns: 5, elements: (0..<(r * 5)).map { _ in rng.normal() }),
                b: Matrix(rows: 4, columns: r, elements: (0..<(4 * r)).map { _ in rng.normal() }))
        }
        let x = delta(2)
        let y = delta(3)
        let dx = x.b.multiplied(by: x.a)
        let dy = y.b.multiplied(by: y.a)
        let dense = zip(dx.elements, dy.elements).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(x.frobeniusInner(y), dense, accuracy: 1e-10)
        XCTAssertEqual(x.squaredFrobeniusNorm, dx.squaredFrobeniusNorm, accuracy: 1e-10)
        XCTAssertEqual(try x.singularValues(), try dx.singularValues().prefix(2).map { $0 }, accuracy: 1e-10)
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line)
{
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
