/// ZipNN-style byte-plane transposition of floating-point data.
///
/// Each element's bits are rotated left by one, so the sign moves to the
/// lowest bit and the exponent fills the top byte; the bytes are then grouped
/// by significance into planes, most significant first. The exponent plane
/// of neural-network weights is highly repetitive and compresses well, while
/// the low mantissa planes are close to random and are often stored raw.
///
/// Planes are laid out back to back in one buffer: plane k holds bytes
/// `k·n ..< (k+1)·n` for n elements. The loops index plane pointers computed
/// once, so the compiler vectorises them (several GB/s on one core).
public enum BytePlanes {
    /// Splits `raw` (elements of `width` bytes: 2, 4 or 8) into planes.
    public static func split(_ raw: UnsafeRawBufferPointer, width: Int) -> [UInt8] {
        let n = raw.count / width
        return [UInt8](unsafeUninitializedCapacity: n * width) { out, initialized in
            initialized = n * width
            guard n > 0, let d = out.baseAddress, let src = raw.baseAddress else { return }
            // Typed loads need alignment; a misaligned source takes the generic path.
            let aligned = Int(bitPattern: src) % width == 0
            switch aligned ? width : 0 {
            case 2:
                let s = src.assumingMemoryBound(to: UInt16.self)
                let p0 = d
                let p1 = d + n
                for i in 0..<n {
                    let v = UInt16(littleEndian: s[i])
                    let r = (v << 1) | (v >> 15)
                    p0[i] = UInt8(truncatingIfNeeded: r >> 8)
                    p1[i] = UInt8(truncatingIfNeeded: r)
                }
            case 4:
                let s = src.assumingMemoryBound(to: UInt32.self)
                let p0 = d
                let p1 = d + n
                let p2 = d + 2 * n
                let p3 = d + 3 * n
                for i in 0..<n {
                    let v = UInt32(littleEndian: s[i])
                    let r = (v << 1) | (v >> 31)
                    p0[i] = UInt8(truncatingIfNeeded: r >> 24)
                    p1[i] = UInt8(truncatingIfNeeded: r >> 16)
                    p2[i] = UInt8(truncatingIfNeeded: r >> 8)
                    p3[i] = UInt8(truncatingIfNeeded: r)
                }
            default:
                for i in 0..<n {
                    var v: UInt64 = 0
                    for b in 0..<width { v |= UInt64(raw[width * i + b]) << UInt64(8 * b) }
                    let bits = UInt64(8 * width)
                    let r = ((v << 1) | (v >> (bits - 1))) & (bits == 64 ? ~0 : (1 << bits) - 1)
                    for k in 0..<width { d[k * n + i] = UInt8(truncatingIfNeeded: r >> UInt64(8 * (width - 1 - k))) }
                }
            }
        }
    }

    /// Reassembles elements from planes made by ``split(_:width:)``.
    public static func join(_ planes: UnsafeRawBufferPointer, width: Int) -> [UInt8] {
        let n = planes.count / width
        return [UInt8](unsafeUninitializedCapacity: n * width) { out, initialized in
            initialized = n * width
            guard n > 0, let dst = out.baseAddress, let p = planes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            else { return }
            let raw = UnsafeMutableRawPointer(dst)
            switch width {
            case 2:
                let d = raw.assumingMemoryBound(to: UInt16.self)
                let p0 = p
                let p1 = p + n
                for i in 0..<n {
                    let r = UInt16(p0[i]) << 8 | UInt16(p1[i])
                    d[i] = ((r >> 1) | (r << 15)).littleEndian
                }
            case 4:
                let d = raw.assumingMemoryBound(to: UInt32.self)
                let p0 = p
                let p1 = p + n
                let p2 = p + 2 * n
                let p3 = p + 3 * n
                for i in 0..<n {
                    let r = UInt32(p0[i]) << 24 | UInt32(p1[i]) << 16 | UInt32(p2[i]) << 8 | UInt32(p3[i])
                    d[i] = ((r >> 1) | (r << 31)).littleEndian
                }
            default:
                let d = raw.assumingMemoryBound(to: UInt64.self)
                for i in 0..<n {
                    var r: UInt64 = 0
                    for k in 0..<width { r = r << 8 | UInt64(p[k * n + i]) }
                    d[i] = ((r >> 1) | (r << 63)).littleEndian
                }
            }
        }
    }
}
