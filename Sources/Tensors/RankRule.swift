/// How a truncating merge picks each module's rank from the singular values
/// of its target, `σ₁ ≥ σ₂ ≥ …` (kohya's `resize_lora` dynamic methods).
///
/// Each rule keeps at least one singular value; the caller caps the result
/// (`--max-rank`). `resize` and `extract` share it.
public enum RankRule: Sendable, Equatable {
    /// Keep every σᵢ ≥ σ₁ / p (kohya's `sv_ratio`).
    case singularValueRatio(Double)
    /// The smallest k with Σ_{i≤k} σᵢ² ≥ f · ‖ΔW‖²_F: the share f of the squared
    /// Frobenius norm. (kohya's `sv_fro` f keeps f² of it: its f is a share of
    /// the norm itself.)
    case frobeniusShare(Double)
    /// The smallest k with Σ_{i≤k} σᵢ ≥ c · Σ σᵢ (kohya's `sv_cumulative`).
    case cumulativeShare(Double)
    /// Keep every σᵢ ≥ ε · σ₁ (`extract --sv-epsilon`, as mergekit's).
    case relativeThreshold(Double)

    /// The rank the rule keeps of `singularValues` (descending), at least 1.
    ///
    /// - Parameter squaredNorm: ‖ΔW‖²_F when `singularValues` are only the
    ///   leading ones (a randomized SVD); the Frobenius share is taken of it.
    public func rank(_ singularValues: [Double], squaredNorm: Double? = nil) -> Int {
        let s = singularValues
        guard let first = s.first, first > 0 else { return 1 }
        switch self {
        case .singularValueRatio(let p):
            return Swift.max(1, s.prefix { $0 >= first / p }.count)
        case .frobeniusShare(let f):
            guard let squaredNorm else { return Self.smallestPrefix(s.map { $0 * $0 }, reaching: f) }
            var sum = 0.0
            for (i, v) in s.enumerated() {
                sum += v * v
                if sum >= f * squaredNorm * (1 - 1e-12) { return i + 1 }
            }
            return s.count
        case .cumulativeShare(let c):
            return Self.smallestPrefix(s, reaching: c)
        case .relativeThreshold(let e):
            return Swift.max(1, s.prefix { $0 >= e * first }.count)
        }
    }

    /// The smallest k whose first k values sum to at least `share` of all of
    /// them (with a relative slack of 1e-12, so a share of 1 keeps the rank
    /// that holds everything, not one more for rounding).
    static func smallestPrefix(_ values: [Double], reaching share: Double) -> Int {
        let total = values.reduce(0, +)
        let goal = share * total * (1 - 1e-12)
        var sum = 0.0
        for (i, v) in values.enumerated() {
            sum += v
            if sum >= goal { return i + 1 }
        }
        return values.count
    }

    /// Checks the rule's parameter: p ≥ 1, f and c in (0, 1].
    public func validated() throws -> RankRule {
        switch self {
        case .singularValueRatio(let p) where p >= 1 && p.isFinite: return self
        case .frobeniusShare(let f) where f > 0 && f <= 1: return self
        case .cumulativeShare(let c) where c > 0 && c <= 1: return self
        case .relativeThreshold(let e) where e >= 0 && e < 1: return self
        case .singularValueRatio: throw TensorError(.invalidParameter, "--sv-ratio must be a finite number ≥ 1")
        case .frobeniusShare: throw TensorError(.invalidParameter, "--sv-fro must be in (0, 1]")
        case .cumulativeShare: throw TensorError(.invalidParameter, "--sv-cumulative must be in (0, 1]")
        case .relativeThreshold: throw TensorError(.invalidParameter, "--sv-epsilon must be in [0, 1)")
        }
    }
}
