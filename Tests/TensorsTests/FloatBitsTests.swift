import XCTest
import AdapterFormat
import Tensors
import TestSupport

/// Conversions against PyTorch/numpy bit patterns (conversions.json) and
/// exhaustive round trips over every 16-bit pattern.
final class FloatBitsTests: XCTestCase {
    func testNarrowingMatchesTorchBitForBit() throws {
        let cases = try XCTUnwrap(Fixtures.json("safetensors/conversions.json")["f32_to_narrow"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 150)
        for c in cases {
            let f32 = UInt32(try XCTUnwrap(c["f32_bits"]?.intValue))
            let bf16 = FloatBits.bf16(fromF32: f32)
            let f16 = FloatBits.f16(fromF32: f32)
            if c["is_nan"]?.boolValue == true {
                // NaN stays NaN (torch canonicalises the payload; we keep it, so compare the class only).
                XCTAssertEqual(bf16 & 0x7F80, 0x7F80, "bf16 of NaN \(f32)")
                XCTAssertNotEqual(bf16 & 0x007F, 0, "bf16 of NaN \(f32) became infinity")
                XCTAssertEqual(f16 & 0x7C00, 0x7C00, "f16 of NaN \(f32)")
                XCTAssertNotEqual(f16 & 0x03FF, 0, "f16 of NaN \(f32) became infinity")
                continue
            }
            XCTAssertEqual(
                Int(bf16), c["bf16_bits"]?.intValue,
                "bf16 of f32 bits \(String(f32, radix: 16)) (\(c["kind"]?.stringValue ?? ""))")
            XCTAssertEqual(
                Int(f16), c["f16_bits"]?.intValue,
                "f16 of f32 bits \(String(f32, radix: 16)) (\(c["kind"]?.stringValue ?? ""))")
        }
    }

    func testWideningMatchesTorch() throws {
        let json = try Fixtures.json("safetensors/conversions.json")
        for c in try XCTUnwrap(json["f16_to_f32"]?.arrayValue) where c["is_nan"]?.boolValue != true {
            let h = UInt16(try XCTUnwrap(c["f16_bits"]?.intValue))
            XCTAssertEqual(Int(FloatBits.f32(fromF16: h)), c["f32_bits"]?.intValue, "f16 \(h)")
        }
        for c in try XCTUnwrap(json["bf16_to_f32"]?.arrayValue) where c["is_nan"]?.boolValue != true {
            let h = UInt16(try XCTUnwrap(c["bf16_bits"]?.intValue))
            XCTAssertEqual(Int(FloatBits.f32(fromBF16: h)), c["f32_bits"]?.intValue, "bf16 \(h)")
        }
    }

    func testEvery16BitPatternRoundTrips() {
        for bits in 0...UInt16.max {
            let f16 = FloatBits.f32(fromF16: bits)
            let bf16 = FloatBits.f32(fromBF16: bits)
            if Float(bitPattern: f16).isNaN {
                XCTAssertTrue(Float(bitPattern: f16).isNaN)
                XCTAssertEqual(FloatBits.f16(fromF32: f16) & 0x7C00, 0x7C00)
            } else {
                XCTAssertEqual(FloatBits.f16(fromF32: f16), bits, "f16 \(bits)")
                // Swift's own Float16 conversion agrees on every non-NaN value.
                XCTAssertEqual(Float(Float16(bitPattern: bits)).bitPattern, f16)
            }
            if Float(bitPattern: bf16).isNaN {
                XCTAssertTrue(Float(bitPattern: FloatBits.f32(fromBF16: FloatBits.bf16(fromF32: bf16))).isNaN)
            } else {
                XCTAssertEqual(FloatBits.bf16(fromF32: bf16), bits, "bf16 \(bits)")
            }
        }
    }

    func testF16NarrowingAgreesWithHardwareOnRandomValues() {
        var rng = TestRandom(seed: 7)
        for _ in 0..<200_000 {
            let bits = UInt32(truncatingIfNeeded: rng.next())
            let x = Float(bitPattern: bits)
            if x.isNaN { continue }
            XCTAssertEqual(FloatBits.f16(fromF32: bits), Float16(x).bitPattern, "f32 bits \(String(bits, radix: 16))")
        }
    }

    func testTiesRoundToEven() {
        // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0).
        XCTAssertEqual(FloatBits.bf16(fromF32: Float(1 + 1.0 / 256).bitPattern), 0x3F80)
        // 1 + 3·2^-8 is halfway and rounds up to the even 1 + 2^-6.
        XCTAssertEqual(FloatBits.bf16(fromF32: Float(1 + 3.0 / 256).bitPattern), 0x3F82)
        // 65520 is halfway between f16's max (65504) and the next step: rounds to infinity.
        XCTAssertEqual(FloatBits.f16(fromF32: Float(65520).bitPattern), 0x7C00)
        XCTAssertEqual(FloatBits.f16(fromF32: Float(65519).bitPattern), 0x7BFF)
    }
}
