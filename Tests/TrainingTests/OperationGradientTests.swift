import XCTest
import AdapterFormat
import TestSupport
@testable import Training
import Transformer

/// Each op's backward against central finite differences in Double, on its
/// own: the loss is ⟨r, op(x)⟩ for a fixed random r, so its gradient with
/// respect to x is the op's backward applied to r.
final class OperationGradientTests: XCTestCase {
    static let config = Result { try ModelConfig(directory: Fixtures.path("runtime/llama")) }

    func graph() throws -> TrainingGraph<Double> {
        let dir = Fixtures.path("runtime/llama")
        let config = try Self.config.get()
        return TrainingGraph(
            weights: FrozenWeights<Double>(try ModelWeights(directory: dir, config: config), config: config))
    }

    func random(_ n: Int, seed: UInt64) -> Storage<Double> {
        var rng = TestRandom(seed: seed)
        return Storage((0..<n).map { _ in rng.normal() })
    }

    /// Compares `analytic` (d⟨r, f(x)⟩/dx) with central differences of `f` at a few entries of x.
    func check(
        _ x: Storage<Double>, _ r: Storage<Double>, analytic: Storage<Double>, name: String,
        _ f: (Storage<Double>) -> Storage<Double>
    ) {
        func objective() -> Double {
            let y = f(x)
            return (0..<y.count).reduce(0) { $0 + y.p[$1] * r.p[$1] }
        }
        for k in stride(from: 0, to: x.count, by: max(1, x.count / 23)) {
            let numeric = centralDifference(x, k, objective)
            XCTAssertEqual(analytic.p[k], numeric, accuracy: 1e-7 * max(1, abs(numeric)), "\(name)[\(k)]")
        }
    }

    func testRMSNorm() throws {
        let g = try graph()
        let rows = 3
        let h = g.weights.config.hiddenSize
        let x = random(rows * h, seed: 1)
        let r = random(rows * h, seed: 2)
        let weight = g.weights.layers[0].inputNorm
        let inverse = Storage<Double>(rows)
        let out = Storage<Double>(rows * h)
        let dx = Storage<Double>(rows * h)
        g.rmsNorm(x, weight, into: out, inverse: inverse, rows: rows)
        g.rmsNormBackward(x, weight, inverse: inverse, dOut: r, into: dx, rows: rows)
        check(x, r, analytic: dx, name: "rmsnorm") { x in
            let y = Storage<Double>(rows * h)
            g.rmsNorm(x, weight, into: y, inverse: Storage(rows), rows: rows)
            return y
        }
    }

    func testRoPEBackwardIsTheInverseRotation() throws {
        let g = try graph()
        let c = g.weights.config
        let length = 5
        let rows = 2 * length
        let width = (c.headCount + 2 * c.keyValueHeadCount) * c.headDimension
        g.weights.ensureRope(length)
        let x = random(rows * width, seed: 3)
        let r = random(rows * width, seed: 4)
        let dx = r.copy()
        g.rope(dx, rows: rows, length: length, inverse: true)
        check(x, r, analytic: dx, name: "rope") { x in
            let y = x.copy()
            g.rope(y, rows: rows, length: length, inverse: false)
            return y
        }
    }

    func testAttentionWithGroupedHeadsCausalMaskAndPadding() throws {
        let g = try graph()
        let c = g.weights.config
        let d = c.headDimension
        let batch = TrainingGraph<Double>.Batch([[1, 2, 3, 4], [5, 6]])  // the second sequence is padded
        let qkvWidth = (c.headCount + 2 * c.keyValueHeadCount) * d
        let qWidth = c.headCount * d
        let x = random(batch.rows * qkvWidth, seed: 5)
        let r = random(batch.rows * qWidth, seed: 6)
        let probabilities = Storage<Double>(batch.count * c.headCount * batch.length * batch.length)
        let out = Storage<Double>(batch.rows * qWidth)
        let dx = Storage<Double>(batch.rows * qkvWidth)
        g.attention(batch, qkv: x, probabilities: probabilities, into: out)
        g.attentionBackward(batch, qkv: x, probabilities: probabilities, dOut: r, into: dx)
        check(x, r, analytic: dx, name: "attention") { x in
            let y = Storage<Double>(batch.rows * qWidth)
            g.attention(batch, qkv: x, probabilities: Storage(probabilities.count), into: y)
            return y
        }
    }

    func testSwiGLU() throws {
        let rows = 2
        let inter = 7
        let x = random(rows * 2 * inter, seed: 7)
        let r = random(rows * inter, seed: 8)
        let dx = Storage<Double>(rows * 2 * inter)
        Double.swigluBackward(x.p, dAct: r.p, into: dx.p, rows: rows, intermediate: inter)
        check(x, r, analytic: dx, name: "swiglu") { x in
            let y = Storage<Double>(rows * inter)
            Double.swigluForward(x.p, into: y.p, rows: rows, intermediate: inter)
            return y
        }
    }

    func testFloatKernelsAgreeWithTheDoubleDefinitions() {
        // The C kernels Float training uses, against the generic Swift loops.
        let rows = 3
        let inter = 37
        var rng = TestRandom(seed: 9)
        let gu = (0..<(rows * 2 * inter)).map { _ in rng.normal() * 3 }
        let da = (0..<(rows * inter)).map { _ in rng.normal() }
        let f = Storage<Float>(converting: gu.map(Float.init))
        let fd = Storage<Float>(converting: da.map(Float.init))
        let d = Storage<Double>(gu.map { Double(Float($0)) })
        let dd = Storage<Double>(da.map { Double(Float($0)) })
        let fa = Storage<Float>(rows * inter)
        let daOut = Storage<Double>(rows * inter)
        Float.swigluForward(f.p, into: fa.p, rows: rows, intermediate: inter)
        Double.swigluForward(d.p, into: daOut.p, rows: rows, intermediate: inter)
        for i in 0..<(rows * inter) {
            XCTAssertEqual(Double(fa.p[i]), daOut.p[i], accuracy: 1e-5 * max(1, abs(daOut.p[i])))
        }
        let fg = Storage<Float>(rows * 2 * inter)
        let dg = Storage<Double>(rows * 2 * inter)
        Float.swigluBackward(f.p, dAct: fd.p, into: fg.p, rows: rows, intermediate: inter)
        Double.swigluBackward(d.p, dAct: dd.p, into: dg.p, rows: rows, intermediate: inter)
        for i in 0..<(rows * 2 * inter) {
            XCTAssertEqual(Double(fg.p[i]), dg.p[i], accuracy: 1e-5 * max(1, abs(dg.p[i])))
        }
        // Dropout masks: the same counter-based stream in both, and about the asked share dropped.
        let fm = Storage<Float>(10_000)
        let dm = Storage<Double>(10_000)
        Float.dropoutMask(fm.p, count: 10_000, seed: 42, threshold: UInt32(0.1 * 4_294_967_296), scale: 1 / 0.9)
        Double.dropoutMask(dm.p, count: 10_000, seed: 42, threshold: UInt32(0.1 * 4_294_967_296), scale: 1 / 0.9)
        XCTAssertEqual(fm.array.map { $0 == 0 }, dm.array.map { $0 == 0 })
        XCTAssertEqual(Double(fm.array.filter { $0 == 0 }.count) / 10_000, 0.1, accuracy: 0.01)
    }
}
