import CKernels
import Dispatch
import Foundation

/// The element-wise work of a decoder block, on raw row-major buffers.
///
/// Each kernel handles a row range, so a caller can run it serially (one
/// thread per batch part) or split across cores (``parallelChunks(_:_:)``).
/// All arithmetic is float32, in the order transformers uses where that
/// matters for the 1e-4 agreement. The loops that dominate (RMSNorm, SwiGLU,
/// softmax) live in the `CKernels` C target, compiled once per instruction
/// set and picked for the CPU at load time.
enum Kernels {
    /// `e^x` to about 2 ulp, clamped to [−87, 88] so the result stays a normal
    /// float: below e⁻⁸⁷ ≈ 1.6·10⁻³⁸ it never matters for a softmax or a
    /// sigmoid, and nothing here exponentiates above 88.
    @inline(__always)
    static func exp(_ x: Float) -> Float { am_exp(x) }

    /// `Σ p[i]`, with 16 fixed partial sums.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float { am_sum(p, n) }

    /// `Σ p[i]²`, with 16 fixed partial sums.
    @inline(__always)
    static func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Float { am_sum_of_squares(p, n) }

    /// `max p[i]` for n ≥ 1.
    @inline(__always)
    static func maximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float { am_maximum(p, n) }

    /// RMSNorm in float32, as transformers computes it: `w · (x / √(mean(x²) + ε))`.
    static func rmsNorm(
        _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
        rows: Range<Int>, width h: Int, epsilon: Float
    ) {
        am_rms_norm(x, weight, out, rows.lowerBound, rows.upperBound, h, epsilon)
    }

    /// SwiGLU in place on a gate‖up buffer: the gate half of each row becomes
    /// `silu(gate) · up`, which the down projection then reads with a stride.
    static func siluMultiply(_ gateUp: UnsafeMutablePointer<Float>, rows: Range<Int>, intermediate: Int) {
        am_silu_multiply(gateUp, rows.lowerBound, rows.upperBound, intermediate)
    }

    /// Rotary embedding with transformers' `rotate_half` layout (dimension i
    /// pairs with i + d/2) at `position`, on `heads` heads of one row.
    @inline(__always)
    static func rope(
        _ row: UnsafeMutablePointer<Float>, heads: Int, headDimension d: Int, position: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let half = d / 2
        let c = cos + position * half
        let s = sin + position * half
        for head in 0..<heads {
            let v = row + head * d
            for i in 0..<half {
                let a = v[i]
                let b = v[i + half]
                v[i] = a * c[i] - b * s[i]
                v[i + half] = b * c[i] + a * s[i]
            }
        }
    }

    /// Softmax of one row of attention scores over the keys it may see,
    /// `lo...hi`; every other entry becomes 0 (a row that sees nothing is all 0).
    @inline(__always)
    static func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int, visible lo: Int, _ hi: Int) {
        am_masked_softmax(row, count, lo, hi)
    }
}

/// Runs `body` over `0..<count` split into a few contiguous chunks on all cores.
func parallelChunks(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount * 2))
    guard chunks > 1, count >= 64 else {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((c * count / chunks)..<((c + 1) * count / chunks))
    }
}
