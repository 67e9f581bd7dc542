import XCTest
import Tensors
import TestSupport

final class TensorTests: XCTestCase {
    func testRejectsByteCountThatDoesNotMatchShape() {
        XCTAssertThrowsError(try Tensor(dtype: .f32, shape: [2, 3], bytes: [UInt8](repeating: 0, count: 20)))
        XCTAssertThrowsError(try Tensor(dtype: .f32, shape: [-1, 3], bytes: []))
        XCTAssertThrowsError(try Tensor(dtype: .f32, shape: [Int.max, 3], bytes: []))
        XCTAssertNoThrow(try Tensor(dtype: .bf16, shape: [0, 3], bytes: []))
        XCTAssertNoThrow(try Tensor(dtype: .f64, shape: [], bytes: [UInt8](repeating: 0, count: 8)))
    }

    func testConversionsRoundTripThroughEveryFloatDType() throws {
        var rng = TestRandom(seed: 1)
        let values = rng.floats(257, scale: 3)
        let t = try Tensor(floats: values, shape: [257])
        XCTAssertEqual(try t.floats(), values)
        for dtype in [DType.f16, .bf16, .f64] {
            let narrow = try t.converted(to: dtype)
            XCTAssertEqual(narrow.dtype, dtype)
            XCTAssertEqual(narrow.bytes.count, 257 * dtype.byteSize)
            // Converting the converted tensor back and forth is stable.
            let again = try narrow.converted(to: .f32).converted(to: dtype)
            XCTAssertEqual(again, narrow)
        }
        XCTAssertEqual(try t.converted(to: .f64).doubles(), values.map(Double.init))
    }

    func testDirectDoubleWideningAndNarrowingAgreeWithTheFloatPath() throws {
        var rng = TestRandom(seed: 2)
        let values = rng.floats(129, scale: 5)
        for dtype in [DType.f32, .f16, .bf16, .f64] {
            let t = try Tensor(floats: values, shape: [129]).converted(to: dtype)
            let widened = try t.floats().map(Double.init)
            XCTAssertEqual(try t.doubles(), widened, "\(dtype)")
            XCTAssertEqual(try t.doubles(scaledBy: -0.25), widened.map { $0 * -0.25 }, "\(dtype)")
            let doubles = (0..<129).map { _ in rng.normal() * 3 }
            let narrowed = try Tensor(narrowing: doubles, shape: [129], dtype: dtype)
            let expected =
                dtype == .f64
                ? try Tensor(doubles: doubles, shape: [129])
                : try Tensor(floats: doubles.map(Float.init), shape: [129], dtype: dtype)
            XCTAssertEqual(narrowed, expected, "\(dtype)")
        }
        XCTAssertThrowsError(try Tensor(dtype: .i32, shape: [1], bytes: [1, 0, 0, 0]).doubles())
    }

    func testNonFiniteCount() throws {
        let t = try Tensor(floats: [1, .nan, .infinity, -.infinity, 0], shape: [5])
        XCTAssertEqual(t.nonFiniteCount, 3)
        XCTAssertEqual(try t.converted(to: .bf16).nonFiniteCount, 3)
        XCTAssertEqual(try t.converted(to: .f16).nonFiniteCount, 3)
        XCTAssertEqual(try Tensor(floats: [70000], shape: [1]).converted(to: .f16).nonFiniteCount, 1)
    }

    func testIntegerDTypesRefuseFloatConversion() throws {
        let t = try Tensor(dtype: .i32, shape: [1], bytes: [1, 0, 0, 0])
        XCTAssertThrowsError(try t.floats())
        XCTAssertThrowsError(try Tensor(floats: [1], shape: [1], dtype: .i32))
    }
}
