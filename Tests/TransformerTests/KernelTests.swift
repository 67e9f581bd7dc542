import XCTest
import Foundation
import TestSupport
@testable import Transformer

/// The element-wise kernels of the forward pass against plain arithmetic.
final class KernelTests: XCTestCase {
    func testPolynomialExpIsWithinTwoUlpsOverTheUsedRange() {
        var worst: Float = 0
        for i in 0...20_000 {
            let x = -87 + Float(i) * (175 / 20_000)
            let ours = Kernels.exp(x)
            let reference = Foundation.exp(Double(x))
            worst = max(worst, Float(abs(Double(ours) - reference) / reference))
        }
        XCTAssertLessThan(worst, 2.5e-7, "relative error")
        XCTAssertEqual(Kernels.exp(0), 1)
        // Clamped, never infinite, NaN or denormal: −∞ (a masked score) and huge inputs stay finite.
        XCTAssertTrue(Kernels.exp(-.infinity).isNormal)
        XCTAssertTrue(Kernels.exp(1000).isFinite)
        XCTAssertLessThan(Kernels.exp(-1000), 1e-37)
    }

    func testReductionsMatchSequentialSums() {
        var rng = TestRandom(seed: 9)
        for n in [1, 7, 8, 9, 64, 100] {
            let values = rng.floats(n)
            values.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                XCTAssertEqual(Double(Kernels.sum(base, n)), values.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-5)
                XCTAssertEqual(
                    Double(Kernels.sumOfSquares(base, n)), values.reduce(0.0) { $0 + Double($1 * $1) }, accuracy: 1e-4)
                XCTAssertEqual(Kernels.maximum(base, n), values.max())
            }
        }
    }

    func testMaskedSoftmaxSeesOnlyItsWindow() {
        var row: [Float] = [3, 1, 2, 5, -.infinity, 7]
        row.withUnsafeMutableBufferPointer { Kernels.maskedSoftmax($0.baseAddress!, count: 6, visible: 1, 3) }
        let e = [1, 2, 5].map { Foundation.exp(Double($0) - 5) }
        let total = e.reduce(0, +)
        XCTAssertEqual(row[0], 0)
        XCTAssertEqual(row[4], 0)
        XCTAssertEqual(row[5], 0)
        for (j, v) in e.enumerated() { XCTAssertEqual(Double(row[j + 1]), v / total, accuracy: 1e-6) }
        // A row that may see nothing (a pad query past a sliding window) is all zero.
        var empty: [Float] = [1, 2, 3]
        empty.withUnsafeMutableBufferPointer { Kernels.maskedSoftmax($0.baseAddress!, count: 3, visible: 2, 1) }
        XCTAssertEqual(empty, [0, 0, 0])
    }

    func testSiLUMultiplyWritesTheGateHalf() {
        var gateUp: [Float] = [1, -2, 10, 20, 0.5, 3, 4, 5]  // 2 rows × (gate 2 ‖ up 2)
        gateUp.withUnsafeMutableBufferPointer { Kernels.siluMultiply($0.baseAddress!, rows: 0..<2, intermediate: 2) }
        func silu(_ z: Double) -> Double { z / (1 + Foundation.exp(-z)) }
        let expected = [silu(1) * 10, silu(-2) * 20, silu(0.5) * 4, silu(3) * 5]
        for (got, want) in zip([gateUp[0], gateUp[1], gateUp[4], gateUp[5]], expected) {
            XCTAssertEqual(Double(got), want, accuracy: 1e-6 * max(1, abs(want)))
        }
        XCTAssertEqual(
            [gateUp[2], gateUp[3], gateUp[6], gateUp[7]], [10, 20, 4, 5], "the up half is read, not written")
    }
}
