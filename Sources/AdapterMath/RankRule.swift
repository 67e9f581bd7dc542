/// How a truncating merge picks each module's rank from the singular values
/// of its target, `σ₁ ≥ σ₂ ≥ …` (kohya's `resize_lora` dynamic methods).
///
/// Each rule keeps at least one singular value; `MergeOptions.rank` caps the
/// result (`--max-rank`).
public enum RankRule: Sendable, Equatable {
    /// Keep every σᵢ ≥ σ₁ / p (kohya's `sv_ratio`).
    case singularValueRatio(Double)
    /// The smallest k with Σ_{i≤k} σᵢ² ≥ f · ‖ΔW‖²_F: the share f of the squared
    /// Frobenius norm. (kohya's `sv_fro` f keeps f² of it: its f is a share of
    /// the norm itself.)
    case frobeniusShare(Double)
    /// The smallest k with Σ_{i≤k} σᵢ ≥ c · Σ σᵢ (kohya's `sv_cumulative`).
    case cumulativeShare(Double)

    /// The rank the rule keeps of `singularValues` (descending), at least 1.
    public func rank(_ singularValues: [Double]) -> Int {
        let s = singularValues
        guard let first = s.first, first > 0 else { return 1 }
        switch self {
        case .singularValueRatio(let p):
            return Swift.max(1, s.prefix { $0 >= first / p }.count)
        case .frobeniusShare(let f):
            return Self.smallestPrefix(s.map { $0 * $0 }, reaching: f)
        case .cumulativeShare(let c):
            return Self.smallestPrefix(s, reaching: c)
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
        case .singularValueRatio: throw MergeError(.invalidOption, "--sv-ratio must be a finite number ≥ 1")
        case .frobeniusShare: throw MergeError(.invalidOption, "--sv-fro must be in (0, 1]")
        case .cumulativeShare: throw MergeError(.invalidOption, "--sv-cumulative must be in (0, 1]")
        }
    }
}
