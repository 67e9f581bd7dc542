import XCTest
import Tensors
import TestSupport

final class MatrixTests: XCTestCase {
    func random(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix<Double> {
        var rng = TestRandom(seed: seed)
        return Matrix(rows: rows, columns: cols, elements: (0..<(rows * cols)).map { _ in rng.normal() })
    }

    func naive(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Matrix<Double> {
        var c = Matrix<Double>(zeros: a.rows, b.columns)
        for i in 0..<a.rows { for j in 0..<b.columns { for k in 0..<a.columns { c[i, j] += a[i, k] * b[k, j] } } }
        return c
    }

    func assertClose(
        _ a: Matrix<Double>, _ b: Matrix<Double>, _ tol: Double = 1e-10, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertEqual(a.rows, b.rows, file: file, line: line)
        XCTAssertEqual(a.columns, b.columns, file: file, line: line)
        for (x, y) in zip(a.elements, b.elements) { XCTAssertEqual(x, y, accuracy: tol, file: file, line: line) }
    }

    func testGemmMatchesNaiveProductWithEveryTransposition() {
        let a = random(5, 3, seed: 1)
        let b = random(3, 4, seed: 2)
        let expected = naive(a, b)
        assertClose(a.multiplied(by: b), expected)
        assertClose(a.transposed.multiplied(by: b, transposeSelf: true), expected)
        assertClose(a.multiplied(by: b.transposed, transposeOther: true), expected)
        assertClose(a.transposed.multiplied(by: b.transposed, transposeSelf: true, transposeOther: true), expected)
        let af = a.asFloat
        let bf = b.asFloat
        for (x, y) in zip(af.multiplied(by: bf).elements, expected.elements) {
            XCTAssertEqual(Double(x), y, accuracy: 1e-5)
        }
    }

    func testEmptyDimensions() {
        let a = Matrix<Double>(zeros: 3, 0)
        let b = Matrix<Double>(zeros: 0, 2)
        XCTAssertEqual(a.multiplied(by: b), Matrix<Double>(zeros: 3, 2))
    }

    func testQRReconstructsWithOrthonormalQ() throws {
        for (m, n) in [(7, 3), (3, 3), (2, 5)] {
            let a = random(m, n, seed: UInt64(m * 10 + n))
            let qr = try a.qr()
            assertClose(qr.q.multiplied(by: qr.r), a)
            assertClose(qr.q.gram, .identity(min(m, n)))
            for i in 0..<qr.r.rows { for j in 0..<min(i, qr.r.columns) { XCTAssertEqual(qr.r[i, j], 0) } }
        }
    }

    func testSVDReconstructsAndSortsDescending() throws {
        let a = random(6, 4, seed: 9)
        let svd = try a.svd()
        XCTAssertEqual(svd.singularValues, svd.singularValues.sorted(by: >))
        var us = svd.u
        for i in 0..<us.rows { for j in 0..<us.columns { us[i, j] *= svd.singularValues[j] } }
        assertClose(us.multiplied(by: svd.vt), a)
        let values = try a.singularValues()
        for (x, y) in zip(values, svd.singularValues) { XCTAssertEqual(x, y, accuracy: 1e-12) }
        // ‖A‖_F² = Σσ².
        XCTAssertEqual(values.reduce(0) { $0 + $1 * $1 }, a.squaredFrobeniusNorm, accuracy: 1e-10)
    }

    func testStacking() {
        let a = random(2, 3, seed: 1)
        let b = random(1, 3, seed: 2)
        let v = Matrix.vstack([a, b], columns: 3)
        XCTAssertEqual(v.rows, 3)
        XCTAssertEqual(v.rows(2..<3), b)
        let h = Matrix.hstack([a.transposed, b.transposed], rows: 3)
        XCTAssertEqual(h, v.transposed)
        XCTAssertEqual(h.columns(0..<2), a.transposed)
    }
}
