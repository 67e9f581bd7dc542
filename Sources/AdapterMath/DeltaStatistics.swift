import Foundation
import Tensors
import AdapterFormat

/// Statistics of one module's update `ΔW = scaling · B · A`.
///
/// All figures are functions of ΔW alone, so they do not change when A is
/// multiplied by c and B by 1/c, or when the scaling moves between alpha
/// and the factors.
public struct DeltaStatistics: Sendable, Equatable {
    /// `‖ΔW‖_F`.
    public let frobenius: Double
    /// `‖ΔW‖₂`, the largest singular value.
    public let spectral: Double
    /// Singular values of ΔW, descending (at most r).
    public let singularValues: [Double]
    /// Entropy effective rank (Roy & Vetterli 2007): `exp(−Σ pᵢ ln pᵢ)`, `pᵢ = σᵢ / Σσ`.
    public let effectiveRank: Double
    /// NaN or infinite entries in A and B. When nonzero, the figures above are NaN.
    public let nonFinite: Int

    private init(nonFinite: Int) {
        self.nonFinite = nonFinite
        frobenius = .nan
        spectral = .nan
        singularValues = []
        effectiveRank = .nan
    }

    private init(singularValues s: [Double]) {
        nonFinite = 0
        singularValues = s
        frobenius = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        spectral = s.first ?? 0
        effectiveRank = DeltaStatistics.entropyRank(s)
    }

    /// Statistics of an update in factor form.
    public init(delta: LowRankDelta) throws {
        let bad = delta.nonFiniteCount
        if bad > 0 {
            self.init(nonFinite: bad)
            return
        }
        self.init(singularValues: try delta.singularValues())
    }

    /// Statistics of one module of an adapter.
    public init(module: LoraModuleInfo, factors: (a: Tensor, b: Tensor)) throws {
        let bad = factors.a.nonFiniteCount + factors.b.nonFiniteCount
        if bad > 0 {
            self.init(nonFinite: bad)
            return
        }
        try self.init(delta: try LowRankDelta(module: module, factors: factors))
    }

    static func entropyRank(_ s: [Double]) -> Double {
        let total = s.reduce(0, +)
        guard total > 0 else { return 0 }
        var h = 0.0
        for v in s where v > 0 {
            let p = v / total
            h -= p * log(p)
        }
        return exp(h)
    }
}
