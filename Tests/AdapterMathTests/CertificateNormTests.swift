import XCTest
import AdapterMath
import Tensors
import TestSupport

/// The certificate's factor-space norms against dense f64 arithmetic, including
/// the cancelling cases where a plain Gram sum would lose every digit.
final class CertificateNormTests: XCTestCase {
    func random(_ rows: Int, _ columns: Int, _ rng: inout TestRandom, scale: Double = 1) -> Matrix<Double> {
        Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in rng.normal() * scale })
    }

    func denseNorm(_ terms: [(LowRankDelta, Double)]) -> Double {
        let first = terms[0].0
        var sum = [Double](repeating: 0, count: first.outFeatures * first.inFeatures)
        for (t, sign) in terms {
            let d = t.b.multiplied(by: t.a).elements
            for i in sum.indices { sum[i] += sign * d[i] }
        }
        return sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }

    func testNormOfSumMatchesDenseAndQR() throws {
        var rng = TestRandom(seed: 7)
        let x = LowRankDelta(a: random(3, 40, &rng), b: random(30, 3, &rng))
        let y = LowRankDelta(a: random(5, 40, &rng), b: random(30, 5, &rng))
        let gram = try LowRankDelta.frobeniusNorm(ofSum: [x, y])
        XCTAssertTrue(isClose(gram, denseNorm([(x, 1), (y, 1)]), rel: 1e-12))
        XCTAssertTrue(isClose(gram, try LowRankDelta.concatenate([x, y]).frobeniusNorm(), rel: 1e-12))
        XCTAssertEqual(try LowRankDelta.frobeniusNorm(ofSum: []), 0)
    }

    func testCancellingSumFallsBackToQRAndStaysAccurate() throws {
        var rng = TestRandom(seed: 11)
        let x = LowRankDelta(a: random(4, 64, &rng), b: random(48, 4, &rng))
        // x − (x + εE): the exact answer is ε‖E‖, ten orders of magnitude below ‖x‖.
        let e = LowRankDelta(a: random(4, 64, &rng), b: random(48, 4, &rng))
        let eps = 1e-10
        let perturbed = LowRankDelta.concatenate([x, LowRankDelta(a: e.a.scaled(by: eps), b: e.b)])
        let negated = LowRankDelta(a: perturbed.a, b: perturbed.b.scaled(by: -1))
        let norm = try LowRankDelta.frobeniusNorm(ofSum: [x, negated])
        let exact = eps * denseNorm([(e, 1)])
        XCTAssertTrue(isClose(norm, exact, rel: 1e-4), "\(norm) vs \(exact)")
        // Exact cancellation gives (numerically) zero, not the Gram sum's noise.
        let zero = try LowRankDelta.frobeniusNorm(ofSum: [x, LowRankDelta(a: x.a, b: x.b.scaled(by: -1))])
        XCTAssertLessThan(zero, 1e-13 * denseNorm([(x, 1)]))
    }

    func testDistanceSeesTheRoundingOfStoredFactors() throws {
        var rng = TestRandom(seed: 3)
        let target = LowRankDelta(a: random(6, 50, &rng, scale: 0.01), b: random(70, 6, &rng, scale: 0.1))
        // The stored factors are the target rounded to f32, as a concat writes them.
        let (a, b) = try target.tensors(dtype: .f32)
        let stored = try LowRankDelta(storedA: a, storedB: b)
        let distance = try LowRankDelta.distance(stored: stored, target: target)
        let dense = denseNorm([(stored, 1), (target, -1)])
        XCTAssertGreaterThan(distance, 0)
        XCTAssertTrue(isClose(distance, dense, rel: 1e-3), "\(distance) vs dense \(dense)")
        XCTAssertLessThan(distance / denseNorm([(target, 1)]), 1e-6)
        // Identical factors are exactly zero apart.
        XCTAssertEqual(try LowRankDelta.distance(stored: target, target: target), 0)
        // Different ranks (an add, a truncation) take the stacked path.
        let other = LowRankDelta(a: random(2, 50, &rng), b: random(70, 2, &rng))
        XCTAssertTrue(
            isClose(
                try LowRankDelta.distance(stored: other, target: target),
                denseNorm([(other, 1), (target, -1)]), rel: 1e-10))
    }

    func testScaledConcatenationEqualsScalingThenConcatenating() {
        var rng = TestRandom(seed: 5)
        let x = LowRankDelta(a: random(2, 9, &rng), b: random(4, 2, &rng))
        let y = LowRankDelta(a: random(3, 9, &rng), b: random(4, 3, &rng))
        let fused = LowRankDelta.concatenate([x, y], scalingA: [0.5, -3])
        let plain = LowRankDelta.concatenate([x.scaled(by: 0.5), y.scaled(by: -3)])
        XCTAssertEqual(fused.a, plain.a)
        XCTAssertEqual(fused.b, plain.b)
    }
}
