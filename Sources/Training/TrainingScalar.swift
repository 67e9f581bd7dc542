import Foundation
import Tensors

/// The scalar types the trainers compute in: `Float` for training, `Double`
/// for the finite-difference tests.
public protocol TrainingScalar: BLASScalar {
    /// `e^x` for the element-wise loops (sigmoid, softmax).
    static func exponential(_ x: Self) -> Self
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
}
