import XCTest
@testable import AdapterMath
import Tensors
import TestSupport

final class DenseTaskArithmeticTests: XCTestCase {
    func testTrimKeepsTheLargestMagnitudesWithPositionalTies() {
        let v: [Float] = [0.1, -5, 3, 3, -3, 0, 2]
        XCTAssertEqual(DenseTaskArithmetic.trim(v, density: 3.0 / 7), [0, -5, 3, 3, 0, 0, 0])
        XCTAssertEqual(DenseTaskArithmetic.trim(v, density: 1), v)
        XCTAssertEqual(DenseTaskArithmetic.trim(v, density: 0.01), [0, 0, 0, 0, 0, 0, 0])
    }

    func testSelectFindsOrderStatistics() {
        var rng = TestRandom(seed: 9)
        let values = (0..<1001).map { _ in Float(rng.normal()) } + [Float](repeating: 0.5, count: 50)
        let sorted = values.sorted()
        for rank in [0, 1, 500, 525, 1050] {
            var copy = values
            XCTAssertEqual(DenseTaskArithmetic.select(&copy, rank: rank), sorted[rank])
        }
    }

    func testTiesElectsSignsAndAddsOnlyAgreeingEntries() {
        let a: [Float] = [1, -2, 3, 0.5]
        let b: [Float] = [2, 1, -1, -0.5]
        // Elected signs: +, -, +, 0 (tie: no sign, nothing kept).
        XCTAssertEqual(DenseTaskArithmetic.ties([a, b], density: 1), [3, -2, 3, 0])
    }

    func testDareKeepsAboutDensityAndRescales() {
        var generators = [SeededGenerator(seed: 1)]
        let ones = [Float](repeating: 1, count: 10_000)
        let out = DenseTaskArithmetic.dare([ones], density: 0.25, generators: &generators)
        let kept = out.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { $0 == 4 })
        XCTAssertEqual(Double(kept.count) / 10_000, 0.25, accuracy: 0.02)
    }
}
