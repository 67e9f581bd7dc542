import Tensors
#if canImport(Glibc)
    import Glibc
#endif

extension LowRankDelta {
    /// `‖Σⱼ ΔWⱼ‖_F` for a sum of low-rank updates, without any dense matrix.
    ///
    /// With `B = [B₁ … Bₙ]` and `A = [A₁; …; Aₙ]`, the squared norm is
    /// `Σ (BᵀB) ∘ (AAᵀ)`: the blocks `BⱼᵀBₖ` and `AⱼAₖᵀ` are small gemms over the
    /// stored factors, which is a few times cheaper than the QRs of
    /// ``frobeniusNorm()`` and needs no stacked copies.
    ///
    /// A Gram sum loses relative accuracy when its terms cancel: a sum much
    /// smaller than the magnitude of its terms (`Σ |BᵀB| ∘ |AAᵀ|`) is only known
    /// to about `ε · n · magnitude`. When the value falls below
    /// ``gramTrustThreshold`` of that magnitude, the norm is recomputed through
    /// the QRs of the stacked factors, which stay backward stable at any size.
    /// So a merge whose result is tiny (say, `A − A`) still gets an honest number.
    public static func frobeniusNorm(ofSum terms: [LowRankDelta]) throws -> Double {
        let live = terms.filter { $0.rank > 0 && $0.inFeatures > 0 && $0.outFeatures > 0 }
        guard !live.isEmpty else { return 0 }
        var value = 0.0
        var magnitude = 0.0
        for j in live.indices {
            for k in j..<live.count {
                let bb = live[j].b.multiplied(by: live[k].b, transposeSelf: true)  // rⱼ × rₖ
                let aa = live[j].a.multiplied(by: live[k].a, transposeOther: true)  // rⱼ × rₖ
                // Off-diagonal blocks appear twice in the full Gram matrices.
                let weight = j == k ? 1.0 : 2.0
                bb.elements.withUnsafeBufferPointer { x in
                    aa.elements.withUnsafeBufferPointer { y in
                        var v = 0.0
                        var m = 0.0
                        for i in 0..<x.count {
                            let p = x[i] * y[i]
                            v += p
                            m += abs(p)
                        }
                        value += weight * v
                        magnitude += weight * m
                    }
                }
            }
        }
        guard magnitude > 0, magnitude.isFinite else {
            return magnitude == 0 ? 0 : try concatenate(live).frobeniusNorm()
        }
        if value >= gramTrustThreshold * magnitude {
            return value.squareRoot()
        }
        return try concatenate(live).frobeniusNorm()
    }

    /// Below this fraction of its terms' magnitude, a Gram sum is recomputed
    /// by QR. The gemms' rounding is typically `√n · 2⁻⁵³ ≈ 10⁻¹⁴` of the
    /// magnitude for the longest factors (n = 14 336), and stays under 10⁻¹⁰
    /// even in the worst case, so above 10⁻⁶ the squared norm keeps at least
    /// four correct digits and usually eight.
    public static let gramTrustThreshold = 1e-6

    /// `‖stored − target‖_F`, accurate when the two are close.
    ///
    /// With equal ranks (concat, or an SVD that keeps every direction), the
    /// difference is written as `B_s (A_s − A_t) + (B_s − B_t) A_t`, whose
    /// factors are formed entry by entry: the rounding of the stored factors
    /// is then measured directly instead of as the small difference of two
    /// large norms. Otherwise it is the norm of `[B_s, −B_t] · [A_s; A_t]`.
    public static func distance(stored: LowRankDelta, target: LowRankDelta) throws -> Double {
        guard stored.rank == target.rank else {
            return try frobeniusNorm(ofSum: [stored, LowRankDelta(a: target.a, b: target.b.scaled(by: -1))])
        }
        var terms: [LowRankDelta] = []
        if let deltaA = stored.a.difference(target.a) { terms.append(LowRankDelta(a: deltaA, b: stored.b)) }
        if let deltaB = stored.b.difference(target.b) { terms.append(LowRankDelta(a: target.a, b: deltaB)) }
        return try frobeniusNorm(ofSum: terms)
    }
}

extension Matrix where Scalar == Double {
    /// `self − other`, element by element, or `nil` when the two are equal.
    ///
    /// A merge's stored factors are often exact copies of its target's (every
    /// B of a concat in the input dtype), so equality is checked first and
    /// costs no allocation.
    @inlinable func difference(_ other: Matrix) -> Matrix? {
        precondition(rows == other.rows && columns == other.columns, "difference: shapes differ")
        let equal = elements.withUnsafeBytes { x in
            other.elements.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
        if equal { return nil }
        let out = [Double](unsafeUninitializedCapacity: elements.count) { dst, initialized in
            elements.withUnsafeBufferPointer { x in
                other.elements.withUnsafeBufferPointer { y in
                    for i in 0..<x.count { dst[i] = x[i] - y[i] }
                }
            }
            initialized = elements.count
        }
        return Matrix(rows: rows, columns: columns, elements: out)
    }
}
