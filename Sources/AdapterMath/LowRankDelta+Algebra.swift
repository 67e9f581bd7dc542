import Tensors

extension LowRankDelta {
    /// The exact sum of updates as one update of rank Σ rᵢ: `B = [B₁ … Bₙ]`, `A = [A₁; …; Aₙ]`.
    public static func concatenate(_ parts: [LowRankDelta]) -> LowRankDelta {
        guard let first = parts.first else { preconditionFailure("concatenate needs at least one update") }
        let a = Matrix.vstack(parts.map(\.a), columns: first.inFeatures)
        let b = Matrix.hstack(parts.map(\.b), rows: first.outFeatures)
        return LowRankDelta(a: a, b: b)
    }

    /// The same update times `factor` (applied to A, so B keeps its scale).
    public func scaled(by factor: Double) -> LowRankDelta {
        LowRankDelta(a: a.scaled(by: factor), b: b)
    }

    /// `‖ΔW‖_F`, from the triangular factors: backward stable, no dense matrix.
    public func frobeniusNorm() throws -> Double {
        guard rank > 0 else { return 0 }
        return try core().squaredFrobeniusNorm.squareRoot()
    }

    /// `‖self − other‖_F` in factor space.
    ///
    /// The difference is itself low rank, `[B, −B₂] · [A; A₂]`; its norm comes
    /// from the QR factors of the stacked matrices, which keeps full relative
    /// accuracy even when the difference is tiny (unlike `‖X‖² − 2⟨X,Y⟩ + ‖Y‖²`).
    public func distance(to other: LowRankDelta) throws -> Double {
        try LowRankDelta.concatenate([self, LowRankDelta(a: other.a, b: other.b.scaled(by: -1))]).frobeniusNorm()
    }

    /// The best rank-`k` approximation, computed in factor space.
    ///
    /// With `B = Q_B R_B` and `Aᵀ = Q_A R_A`, `ΔW = Q_B (R_B R_Aᵀ) Q_Aᵀ`; the SVD
    /// of the r × r core `U Σ Vᵀ` gives `ΔW = (Q_B U) Σ (Q_A V)ᵀ`. The result keeps
    /// the top `k` triplets with `√σ` on each side, so neither factor carries
    /// the whole scale. The dense out × in matrix is never formed.
    ///
    /// - Returns: the truncated update (rank exactly `k`, zero-padded when ΔW has
    ///   lower rank), all singular values of ΔW, and the retained energy
    ///   `Σ_{i≤k} σᵢ² / Σ σᵢ²` (1 for a zero update).
    public func truncated(rank k: Int) throws -> (delta: LowRankDelta, singularValues: [Double], retainedEnergy: Double) {
        let qb = try b.qr(), qa = try a.transposed.qr()
        let core = qb.r.multiplied(by: qa.r, transposeOther: true)
        let svd = try core.svd()
        let s = svd.singularValues
        let keep = Swift.min(k, s.count)
        // Left factor: Q_B U_k √Σ (out × k); right factor: √Σ V_kᵀ Q_Aᵀ (k × in).
        var left = qb.q.multiplied(by: svd.u.columns(0..<keep))
        var right = svd.vt.rows(0..<keep).multiplied(by: qa.q, transposeOther: true)
        for j in 0..<keep {
            let root = s[j].squareRoot()
            for i in 0..<left.rows { left[i, j] *= root }
            for i in 0..<right.columns { right[j, i] *= root }
        }
        if keep < k {
            left = Matrix.hstack([left, Matrix(zeros: outFeatures, k - keep)], rows: outFeatures)
            right = Matrix.vstack([right, Matrix(zeros: k - keep, inFeatures)], columns: inFeatures)
        }
        let total = s.reduce(0) { $0 + $1 * $1 }
        let kept = s.prefix(keep).reduce(0) { $0 + $1 * $1 }
        return (LowRankDelta(a: right, b: left), s, total > 0 ? kept / total : 1)
    }

    /// The factors as stored tensors of `dtype` (A: r × in, B: out × r).
    /// Narrowing to f16/bf16 goes through f32, each step rounding to nearest even.
    public func tensors(dtype: DType) throws -> (a: Tensor, b: Tensor) {
        if dtype == .f64 {
            return (try Tensor(doubles: a.elements, shape: [a.rows, a.columns]),
                    try Tensor(doubles: b.elements, shape: [b.rows, b.columns]))
        }
        return (try Tensor(floats: a.elements.map(Float.init), shape: [a.rows, a.columns], dtype: dtype),
                try Tensor(floats: b.elements.map(Float.init), shape: [b.rows, b.columns], dtype: dtype))
    }

    /// The update the stored tensors actually hold, after rounding to their dtype.
    public init(storedA a: Tensor, storedB b: Tensor) throws {
        try self.init(a: a, b: b, scaling: 1)
    }
}
