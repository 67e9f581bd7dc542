import Tensors

extension LowRankDelta {
    /// The exact sum of updates as one update of rank Σ rᵢ: `B = [B₁ … Bₙ]`, `A = [A₁; …; Aₙ]`.
    public static func concatenate(_ parts: [LowRankDelta]) -> LowRankDelta {
        guard let first = parts.first else { preconditionFailure("concatenate needs at least one update") }
        let a = Matrix.vstack(parts.map(\.a), columns: first.inFeatures)
        let b = Matrix.hstack(parts.map(\.b), rows: first.outFeatures)
        return LowRankDelta(a: a, b: b)
    }

    /// `Σᵢ cᵢ ΔWᵢ` as one update of rank Σ rᵢ, with each `cᵢ` applied to its A
    /// rows while they are copied: `B = [B₁ … Bₙ]`, `A = [c₁A₁; …; cₙAₙ]`.
    public static func concatenate(_ parts: [LowRankDelta], scalingA coefficients: [Double]) -> LowRankDelta {
        precondition(parts.count == coefficients.count && !parts.isEmpty, "concatenate: one coefficient per part")
        let columns = parts[0].inFeatures
        let total = parts.reduce(0) { $0 + $1.a.elements.count }
        let a = [Double](unsafeUninitializedCapacity: total) { dst, initialized in
            var offset = 0
            for (part, c) in zip(parts, coefficients) {
                precondition(part.inFeatures == columns, "concatenate: input sizes differ")
                part.a.elements.withUnsafeBufferPointer { src in
                    for i in 0..<src.count { dst[offset + i] = src[i] * c }
                }
                offset += part.a.elements.count
            }
            initialized = total
        }
        let b = Matrix.hstack(parts.map(\.b), rows: parts[0].outFeatures)
        return LowRankDelta(
            a: Matrix(rows: total / Swift.max(columns, 1), columns: columns, elements: columns == 0 ? [] : a), b: b)
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

    /// `‖self − other‖_F` in factor space, with full relative accuracy even
    /// when the difference is tiny; see ``distance(stored:target:)``.
    public func distance(to other: LowRankDelta) throws -> Double {
        try LowRankDelta.distance(stored: self, target: other)
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
    public func truncated(rank k: Int) throws -> (delta: LowRankDelta, singularValues: [Double], retainedEnergy: Double)
    {
        let qb = try b.qr()
        let qa = try a.transposed.qr()
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

    /// The same update at rank `k` ≥ ``rank``: zero rows appended to A and
    /// zero columns to B, so BA is unchanged, exactly.
    public func padded(toRank k: Int) -> LowRankDelta {
        guard k > rank else { return self }
        return LowRankDelta(
            a: Matrix.vstack([a, Matrix(zeros: k - rank, inFeatures)], columns: inFeatures),
            b: Matrix.hstack([b, Matrix(zeros: outFeatures, k - rank)], rows: outFeatures))
    }

    /// The factors as stored tensors of `dtype` (A: r × in, B: out × r).
    /// Narrowing to f16/bf16 goes through f32, each step rounding to nearest even.
    public func tensors(dtype: DType) throws -> (a: Tensor, b: Tensor) {
        (
            try Tensor(narrowing: a.elements, shape: [a.rows, a.columns], dtype: dtype),
            try Tensor(narrowing: b.elements, shape: [b.rows, b.columns], dtype: dtype)
        )
    }

    /// The update the stored tensors actually hold, after rounding to their dtype.
    public init(storedA a: Tensor, storedB b: Tensor) throws {
        try self.init(a: a, b: b, scaling: 1)
    }
}
