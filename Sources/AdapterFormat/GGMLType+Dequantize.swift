import Tensors

// Block layouts (ggml-common.h; all fields little-endian, f16 scales):
//   Q8_0  34 B / 32: d, qs[32] int8
//   Q4_0  18 B / 32: d, qs[16]            low nibbles are elements 0..<16, high nibbles 16..<32
//   Q4_1  20 B / 32: d, m, qs[16]
//   Q5_0  22 B / 32: d, qh u32, qs[16]    bit j of qh is the fifth bit of element j
//   Q5_1  24 B / 32: d, m, qh u32, qs[16]
//   Q4_K 144 B / 256: d, dmin, scales[12], qs[128]    eight groups of 32, 6-bit scale and min each
//   Q5_K 176 B / 256: d, dmin, scales[12], qh[32], qs[128]
//   Q6_K 210 B / 256: ql[128], qh[64], scales[16] int8, d
//
// Every value is computed with the same operations in the same order as ggml-quants.c's
// dequantize_row_* and gguf-py's numpy (`d * q`, `d * q + m`, `(d * sc) * q - (dmin * m)`), each
// rounded to Float on its own: Swift never fuses a multiply and an add, so the results are bit for
// bit numpy's. (A C compiler may contract `d * q + m` into an FMA where the target has one; ggml
// built that way differs from numpy in the last bit of Q4_1, Q5_1 and the K-quants.)

extension GGMLType {
    /// Dequantizes `count` elements starting at `source` into `destination`.
    ///
    /// `count` must be a multiple of ``blockSize``, `source` must hold `count / blockSize` blocks
    /// (``rowBytes(columns:)`` bytes for `count` elements) and `destination` room for `count` floats.
    /// The type must be supported (``isSupported``; check with ``requireSupported()`` first).
    /// Half-precision values widen exactly, NaN payloads included (as numpy does; ggml's F16C path
    /// would quiet a signalling NaN). Allocates nothing.
    public func dequantize(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(isSupported, GGMLType.unsupportedMessage(self))
        precondition(count >= 0 && count % blockSize == 0, "\(count) elements of \(name) are not whole blocks")
        let blocks = count / blockSize
        switch self {
        case .f32: Dequantize.f32(source, count, destination)
        case .f16: Dequantize.f16(source, count, destination)
        case .bf16: Dequantize.bf16(source, count, destination)
        case .q8_0: Dequantize.q8_0(source, blocks, destination)
        case .q4_0: Dequantize.q4_0(source, blocks, destination)
        case .q4_1: Dequantize.q4_1(source, blocks, destination)
        case .q5_0: Dequantize.q5_0(source, blocks, destination)
        case .q5_1: Dequantize.q5_1(source, blocks, destination)
        case .q4_K: Dequantize.q4_K(source, blocks, destination)
        case .q5_K: Dequantize.q5_K(source, blocks, destination)
        case .q6_K: Dequantize.q6_K(source, blocks, destination)
        default: preconditionFailure(GGMLType.unsupportedMessage(self))
        }
    }

    /// `count` elements of this type's bytes as a new array: ``dequantize(_:count:into:)``'s
    /// conditions hold for `source`.
    public func floats(_ source: UnsafeRawBufferPointer, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let out = buffer.baseAddress, let base = source.baseAddress { dequantize(base, count: count, into: out) }
            initialized = count
        }
    }
}

/// The per-type loops; `p` walks the blocks, `y` the output.
private enum Dequantize {
    @inline(__always)
    static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// An f16 field, widened exactly.
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(bitPattern: FloatBits.f32(fromF16: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian))
    }

    static func f32(_ p: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        // Through the bit pattern, so a signalling NaN is copied, not loaded as a float.
        for i in 0..<n {
            y[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
        }
    }

    static func f16(_ p: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] = half(p, 2 * i) }
    }

    static func bf16(_ p: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            let bits = p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian
            y[i] = Float(bitPattern: FloatBits.f32(fromBF16: bits))
        }
    }

    static func q8_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 34 * b
            let y = out + 32 * b
            let d = half(p, 0)
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: byte(p, 2 + j))) * d }
        }
    }

    static func q4_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 18 * b
            let y = out + 32 * b
            let d = half(p, 0)
            for j in 0..<16 {
                let q = byte(p, 2 + j)
                y[j] = Float(Int(q & 0x0F) - 8) * d
                y[j + 16] = Float(Int(q >> 4) - 8) * d
            }
        }
    }

    static func q4_1(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 20 * b
            let y = out + 32 * b
            let d = half(p, 0)
            let m = half(p, 2)
            for j in 0..<16 {
                let q = byte(p, 4 + j)
                y[j] = d * Float(q & 0x0F) + m
                y[j + 16] = d * Float(q >> 4) + m
            }
        }
    }

    static func q5_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 22 * b
            let y = out + 32 * b
            let d = half(p, 0)
            let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
            for j in 0..<16 {
                let q = byte(p, 6 + j)
                let low = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
                let high = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float(low - 16) * d
                y[j + 16] = Float(high - 16) * d
            }
        }
    }

    static func q5_1(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 24 * b
            let y = out + 32 * b
            let d = half(p, 0)
            let m = half(p, 2)
            let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            for j in 0..<16 {
                let q = byte(p, 8 + j)
                let low = UInt32(q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = UInt32(q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(low) + m
                y[j + 16] = d * Float(high) + m
            }
        }
    }

    /// The 6-bit scale and min of group `j` (0..<8) of a Q4_K/Q5_K block: groups 0–3 sit in the low
    /// six bits of bytes 0–3 and 4–7; groups 4–7 take their low four bits from bytes 8–11 and their
    /// top two from the spare bits of bytes 0–3 (scale) and 4–7 (min).
    @inline(__always)
    static func scaleMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        if j < 4 {
            return (Float(byte(scales, j) & 63), Float(byte(scales, j + 4) & 63))
        }
        let scale = (byte(scales, j + 4) & 0x0F) | (byte(scales, j - 4) >> 6) << 4
        let min = (byte(scales, j + 4) >> 4) | (byte(scales, j) >> 6) << 4
        return (Float(scale), Float(min))
    }

    static func q4_K(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 144 * b
            let d = half(p, 0)
            let dmin = half(p, 2)
            let scales = p + 4
            for pair in 0..<4 {
                let q = p + 16 + 32 * pair
                let y = out + 256 * b + 64 * pair
                let (s1, m1) = scaleMin(scales, 2 * pair)
                let (s2, m2) = scaleMin(scales, 2 * pair + 1)
                let d1 = d * s1
                let min1 = dmin * m1
                let d2 = d * s2
                let min2 = dmin * m2
                for l in 0..<32 {
                    let v = byte(q, l)
                    y[l] = d1 * Float(v & 0x0F) - min1
                    y[l + 32] = d2 * Float(v >> 4) - min2
                }
            }
        }
    }

    static func q5_K(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 176 * b
            let d = half(p, 0)
            let dmin = half(p, 2)
            let scales = p + 4
            let qh = p + 16
            for pair in 0..<4 {
                let ql = p + 48 + 32 * pair
                let y = out + 256 * b + 64 * pair
                let (s1, m1) = scaleMin(scales, 2 * pair)
                let (s2, m2) = scaleMin(scales, 2 * pair + 1)
                let d1 = d * s1
                let min1 = dmin * m1
                let d2 = d * s2
                let min2 = dmin * m2
                // Group g's fifth bits are bit g of the 32 qh bytes.
                let bit1 = UInt8(1) << UInt8(2 * pair)
                let bit2 = UInt8(2) << UInt8(2 * pair)
                for l in 0..<32 {
                    let v = byte(ql, l)
                    let h = byte(qh, l)
                    y[l] = d1 * Float((v & 0x0F) | (h & bit1 != 0 ? 16 : 0)) - min1
                    y[l + 32] = d2 * Float((v >> 4) | (h & bit2 != 0 ? 16 : 0)) - min2
                }
            }
        }
    }

    static func q6_K(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 210 * b
            let d = half(p, 208)
            // Each half of 128 elements: ql[64] gives the low nibbles of four runs of 32 (0–31 and
            // 32–63 from the low nibbles, 64–95 and 96–127 from the high ones), qh[32] their top two
            // bits, and one int8 scale per 16 elements.
            for h in 0..<2 {
                let ql = p + 64 * h
                let qh = p + 128 + 32 * h
                let sc = p + 192 + 8 * h
                let y = out + 256 * b + 128 * h
                for l in 0..<32 {
                    let s = l / 16
                    let a = byte(ql, l)
                    let c = byte(ql, l + 32)
                    let top = byte(qh, l)
                    let q1 = Int((a & 0x0F) | (top & 3) << 4) - 32
                    let q2 = Int((c & 0x0F) | ((top >> 2) & 3) << 4) - 32
                    let q3 = Int((a >> 4) | ((top >> 4) & 3) << 4) - 32
                    let q4 = Int((c >> 4) | ((top >> 6) & 3) << 4) - 32
                    y[l] = d * Float(Int8(bitPattern: byte(sc, s))) * Float(q1)
                    y[l + 32] = d * Float(Int8(bitPattern: byte(sc, s + 2))) * Float(q2)
                    y[l + 64] = d * Float(Int8(bitPattern: byte(sc, s + 4))) * Float(q3)
                    y[l + 96] = d * Float(Int8(bitPattern: byte(sc, s + 6))) * Float(q4)
                }
            }
        }
    }
}
