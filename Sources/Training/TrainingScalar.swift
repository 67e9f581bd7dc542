import CKernels
import Foundation
import Tensors

/// The scalar types the trainers compute in: `Float` for training, `Double`
/// for the finite-difference tests.
public protocol TrainingScalar: BLASScalar {
    /// `e^x` for the element-wise loops (sigmoid, softmax).
    static func exponential(_ x: Self) -> Self

    /// `act = silu(gate) · up` for `rows` rows of a gate‖up buffer.
    static func swigluForward(
        _ gateUp: UnsafePointer<Self>, into act: UnsafeMutablePointer<Self>, rows: Int, intermediate: Int)

    /// The gradients of gate and up (into rows of `dGateUp`, gate‖up) from `dAct`.
    static func swigluBackward(
        _ gateUp: UnsafePointer<Self>, dAct: UnsafePointer<Self>, into dGateUp: UnsafeMutablePointer<Self>,
        rows: Int, intermediate: Int)

    /// An inverted-dropout mask: `keep[i]` is 0 when the low 32 bits of draw i
    /// of the counter-based SplitMix64 stream `seed` are below `threshold`, else `scale`.
    static func dropoutMask(
        _ keep: UnsafeMutablePointer<Self>, count: Int, seed: UInt64, threshold: UInt32, scale: Self)
}

extension TrainingScalar {
    public static func swigluForward(
        _ gateUp: UnsafePointer<Self>, into act: UnsafeMutablePointer<Self>, rows: Int, intermediate: Int
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * intermediate
            let u = g + intermediate
            let a = act + r * intermediate
            for i in 0..<intermediate { a[i] = g[i] / (1 + exponential(-g[i])) * u[i] }
        }
    }

    public static func swigluBackward(
        _ gateUp: UnsafePointer<Self>, dAct: UnsafePointer<Self>, into dGateUp: UnsafeMutablePointer<Self>,
        rows: Int, intermediate: Int
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * intermediate
            let u = g + intermediate
            let da = dAct + r * intermediate
            let dg = dGateUp + r * 2 * intermediate
            let du = dg + intermediate
            for i in 0..<intermediate {
                let s = 1 / (1 + exponential(-g[i]))
                du[i] = da[i] * (g[i] * s)
                dg[i] = da[i] * u[i] * s * (1 + g[i] * (1 - s))
            }
        }
    }

    public static func dropoutMask(
        _ keep: UnsafeMutablePointer<Self>, count: Int, seed: UInt64, threshold: UInt32, scale: Self
    ) {
        for i in 0..<count {
            let z = SplitMix64.mix(seed &+ UInt64(i + 1) &* SplitMix64.gamma)
            keep[i] = UInt32(truncatingIfNeeded: z) < threshold ? 0 : scale
        }
    }
}

extension Double: TrainingScalar {
    /// libm's `exp`: the reference precision the gradient tests need.
    @inline(__always)
    public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
}

extension Float: TrainingScalar {
    /// Cephes' polynomial (about 2 ulp), branch-free so that loops over it
    /// vectorize; inputs are clamped to [−87, 88], which never matters for a
    /// sigmoid or a softmax. The runtime's C kernels use the same polynomial.
    @inline(__always)
    public static func exponential(_ value: Float) -> Float {
        let x = Swift.min(Swift.max(value, -87), 88)
        let t = x * 1.442_695_04 + 12_582_912
        let n = t - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        return (p * r * r + r + 1) * Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    }

    // The hot element-wise loops run in the CKernels clones (AVX-512, AVX2, baseline).
    public static func swigluForward(
        _ gateUp: UnsafePointer<Float>, into act: UnsafeMutablePointer<Float>, rows: Int, intermediate: Int
    ) {
        am_swiglu_forward(gateUp, act, rows, intermediate)
    }

    public static func swigluBackward(
        _ gateUp: UnsafePointer<Float>, dAct: UnsafePointer<Float>, into dGateUp: UnsafeMutablePointer<Float>,
        rows: Int, intermediate: Int
    ) {
        am_swiglu_backward(gateUp, dAct, dGateUp, rows, intermediate)
    }

    public static func dropoutMask(
        _ keep: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, threshold: UInt32, scale: Float
    ) {
        am_dropout_mask(keep, count, seed, threshold, scale)
    }
}
