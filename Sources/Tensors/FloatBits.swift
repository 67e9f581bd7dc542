/// Bit-exact conversions between `Float` and the 16-bit float formats.
///
/// Narrowing rounds to nearest, ties to even, exactly as IEEE 754 and
/// PyTorch do; overflow becomes infinity; NaN stays NaN (sign and the top
/// payload bits are kept, and the quiet bit is set so a payload can never
/// collapse into infinity). Widening is exact.
public enum FloatBits {
    /// `Float` bits to bfloat16 bits, round to nearest even.
    @inline(__always)
    public static func bf16(fromF32 bits: UInt32) -> UInt16 {
        if bits & 0x7FFF_FFFF > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        let lsb = (bits >> 16) & 1
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) >> 16)
    }

    /// bfloat16 bits to `Float` bits (exact).
    @inline(__always)
    public static func f32(fromBF16 bits: UInt16) -> UInt32 {
        UInt32(bits) << 16
    }

    /// `Float` bits to IEEE binary16 bits, round to nearest even, with
    /// correct rounding into and out of the subnormal range.
    @inline(__always)
    public static func f16(fromF32 bits: UInt32) -> UInt16 {
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let e = exponent - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            let m = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var half = m >> shift
            let rest = m & ((1 << shift) - 1)
            let halfway: UInt32 = 1 << (shift - 1)
            if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)
        }
        var half = (UInt32(e) << 10) | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        // A carry out of the mantissa correctly bumps the exponent, up to infinity.
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// IEEE binary16 bits to `Float` bits (exact, subnormals included).
    @inline(__always)
    public static func f32(fromF16 bits: UInt16) -> UInt32 {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        var mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            if mantissa == 0 { return sign }
            var e: UInt32 = 127 - 15 + 1
            while mantissa & 0x400 == 0 {
                mantissa <<= 1
                e -= 1
            }
            return sign | (e << 23) | ((mantissa & 0x3FF) << 13)
        case 31:
            return sign | 0x7F80_0000 | (mantissa << 13)
        default:
            return sign | ((exponent + 112) << 23) | (mantissa << 13)
        }
    }
}
