/// ZipNN-style byte-plane transposition of floating-point data.
///
/// Each element's bits are rotated left by one, so the sign moves to the
/// lowest bit and the exponent fills the top byte; the bytes are then grouped
/// by significance into planes, most significant first. The exponent plane
/// of neural-network weights is highly repetitive and compresses well, while
/// the low mantissa planes are close to random and are often stored raw.
///
/// Planes are laid out back to back in one buffer: plane k holds bytes
/// `k·n ..< (k+1)·n` for n elements.
public enum BytePlanes {
    /// Splits `raw` (elements of `width` bytes: 2, 4 or 8) into planes.
    public static func split(_ raw: UnsafeRawBufferPointer, width: Int) -> [UInt8] {
        let n = raw.count / width
        var out = [UInt8](repeating: 0, count: n * width)
        out.withUnsafeMutableBufferPointer { dst in
            let d = dst.baseAddress!
            switch width {
            case 2:
                for i in 0..<n {
                    let v = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    let r = (v << 1) | (v >> 15)
                    d[i] = UInt8(truncatingIfNeeded: r >> 8)
                    d[n + i] = UInt8(truncatingIfNeeded: r)
                }
            case 4:
                for i in 0..<n {
                    let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    let r = (v << 1) | (v >> 31)
                    d[i] = UInt8(truncatingIfNeeded: r >> 24)
                    d[n + i] = UInt8(truncatingIfNeeded: r >> 16)
                    d[2 * n + i] = UInt8(truncatingIfNeeded: r >> 8)
                    d[3 * n + i] = UInt8(truncatingIfNeeded: r)
                }
            default:
                for i in 0..<n {
                    let v = raw.loadUnaligned(fromByteOffset: width * i, as: UInt64.self)
                    let r = (v << 1) | (v >> 63)
                    for k in 0..<width { d[k * n + i] = UInt8(truncatingIfNeeded: r >> UInt64(8 * (width - 1 - k))) }
                }
            }
        }
        return out
    }

    /// Reassembles elements from planes made by ``split(_:width:)``.
    public static func join(_ planes: UnsafeRawBufferPointer, width: Int) -> [UInt8] {
        let n = planes.count / width
        var out = [UInt8](repeating: 0, count: n * width)
        let p = planes.bindMemory(to: UInt8.self).baseAddress
        out.withUnsafeMutableBytes { dst in
            guard let p, n > 0 else { return }
            switch width {
            case 2:
                let d = dst.bindMemory(to: UInt16.self)
                for i in 0..<n {
                    let r = UInt16(p[i]) << 8 | UInt16(p[n + i])
                    d[i] = (r >> 1) | (r << 15)
                }
            case 4:
                let d = dst.bindMemory(to: UInt32.self)
                for i in 0..<n {
                    let r = UInt32(p[i]) << 24 | UInt32(p[n + i]) << 16 | UInt32(p[2 * n + i]) << 8 | UInt32(p[3 * n + i])
                    d[i] = (r >> 1) | (r << 31)
                }
            default:
                let d = dst.bindMemory(to: UInt64.self)
                for i in 0..<n {
                    var r: UInt64 = 0
                    for k in 0..<width { r = r << 8 | UInt64(p[k * n + i]) }
                    d[i] = (r >> 1) | (r << 63)
                }
            }
        }
        return out
    }
}
