import Dispatch
import Foundation

/// The element-wise work of a decoder block, on raw row-major buffers.
///
/// Each kernel handles a row range, so a caller can run it serially (one
/// thread per batch part) or split across cores (``parallelChunks(_:_:)``).
/// All arithmetic is float32, in the order transformers uses where that
/// matters for the 1e-4 agreement.
enum Kernels {
    /// `e^x` to about 2 ulp, branch-free so loops over it vectorize.
    ///
    /// Cephes' `expf`: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-6
    /// polynomial for `e^r`, and `2^n` assembled in the exponent bits. Inputs are clamped to [−87, 88], so the
    /// result stays a normal float: below e⁻⁸⁷ ≈ 1.6·10⁻³⁸ it never matters for
    /// a softmax or a sigmoid, and nothing here exponentiates above 88.
    @inline(__always)
    static func exp(_ value: Float) -> Float {
        let x = Swift.min(Swift.max(value, -87), 88)
        // Adding 1.5 · 2²³ rounds x·log₂e to an integer n and leaves n in the
        // low mantissa bits of t, so 2ⁿ needs no (trapping) float-to-int conversion.
        let t = x * 1.442_695_04 + 12_582_912
        let n = t - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * r * r + r + 1
        let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return er * scale
    }

    /// `Σ p[i]` with eight running partial sums: a plain float loop cannot
    /// vectorize, since reordering its additions changes the result.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var total = acc.sum()
        while i < n { total += p[i]; i += 1 }
        return total
    }

    /// `Σ p[i]²`, eight lanes at a time.
    @inline(__always)
    static func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc += v * v
            i += 8
        }
        var total = acc.sum()
        while i < n { total += p[i] * p[i]; i += 1 }
        return total
    }

    /// `max p[i]` for n ≥ 1, eight lanes at a time.
    @inline(__always)
    static func maximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var i = 0, peak = -Float.infinity
        if n >= 8 {
            var acc = raw.loadUnaligned(as: SIMD8<Float>.self)
            i = 8
            while i + 8 <= n {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                acc.replace(with: v, where: v .> acc)
                i += 8
            }
            peak = acc.max()
        }
        while i < n { peak = Swift.max(peak, p[i]); i += 1 }
        return peak
    }

    /// RMSNorm in float32, as transformers computes it: `w · (x / √(mean(x²) + ε))`.
    static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                        rows: Range<Int>, width h: Int, epsilon: Float) {
        for r in rows {
            let row = x + r * h, dst = out + r * h
            let inv = 1 / (sumOfSquares(row, h) / Float(h) + epsilon).squareRoot()
            for i in 0..<h { dst[i] = weight[i] * (row[i] * inv) }
        }
    }

    /// SwiGLU in place on a gate‖up buffer: the gate half of each row becomes
    /// `silu(gate) · up`, which the down projection then reads with a stride.
    static func siluMultiply(_ gateUp: UnsafeMutablePointer<Float>, rows: Range<Int>, intermediate: Int) {
        for r in rows {
            let g = gateUp + r * 2 * intermediate, u = g + intermediate
            for i in 0..<intermediate {
                let z = g[i]
                g[i] = z / (1 + exp(-z)) * u[i]
            }
        }
    }

    /// Rotary embedding with transformers' `rotate_half` layout (dimension i
    /// pairs with i + d/2), on `heads` heads starting at `column` of each row.
    /// A row's position is its index within its sequence, `row % length`.
    static func rope(_ m: UnsafeMutablePointer<Float>, rowStride: Int, column: Int, heads: Int, headDimension d: Int,
                     rows: Range<Int>, length: Int, positionOffset: Int = 0,
                     cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = d / 2
        for row in rows {
            let t = row % length + positionOffset
            let c = cos + t * half, s = sin + t * half
            for head in 0..<heads {
                let v = m + row * rowStride + column + head * d
                for i in 0..<half {
                    let a = v[i], b = v[i + half]
                    v[i] = a * c[i] - b * s[i]
                    v[i + half] = b * c[i] + a * s[i]
                }
            }
        }
    }

    /// Softmax of one row of attention scores over the keys it may see,
    /// `lo...hi`; every other entry becomes 0 (a row that sees nothing is all 0).
    static func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int, visible lo: Int, _ hi: Int) {
        guard lo <= hi else {
            row.update(repeating: 0, count: count)
            return
        }
        let seen = row + lo, n = hi - lo + 1
        let peak = maximum(seen, n)
        for j in 0..<n { seen[j] = exp(seen[j] - peak) }
        let inv = 1 / sum(seen, n)
        for j in 0..<n { seen[j] *= inv }
        row.update(repeating: 0, count: lo)
        (row + hi + 1).update(repeating: 0, count: count - hi - 1)
    }
}

/// A raw pointer shared with worker threads that touch disjoint parts of it.
struct Shared<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { p = pointer }
    init(_ buffer: UnsafeMutableBufferPointer<T>) { p = buffer.baseAddress! }
    init(_ buffer: UnsafeBufferPointer<T>) { p = UnsafeMutablePointer(mutating: buffer.baseAddress!) }
}

/// Runs `body` over `0..<count` split into a few contiguous chunks on all cores.
func parallelChunks(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount * 2))
    guard chunks > 1, count >= 64 else { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((c * count / chunks)..<((c + 1) * count / chunks))
    }
}
