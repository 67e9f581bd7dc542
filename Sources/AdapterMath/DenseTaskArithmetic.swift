import Tensors

/// TIES and DARE on dense updates, one module at a time (as mergekit does).
///
/// These methods act on individual entries of ΔW, so they need the dense
/// out × in update of each input; it is formed here, in `Float`, for one
/// module only, and refactored to low rank right after.
enum DenseTaskArithmetic {
    /// `scale · B · A` as a dense row-major `Float` buffer (out × in), through sgemm.
    static func dense(_ delta: LowRankDelta, scale: Double) -> [Float] {
        let b = delta.b.asFloat.scaled(by: Float(scale))
        return b.multiplied(by: delta.a.asFloat).elements
    }

    /// TIES (Yadav et al., 2023): trim each weighted update to its `density`
    /// largest-magnitude entries, elect each entry's sign as the sign of the
    /// sum, and add the entries that agree with it (the disjoint merge, as
    /// mergekit's `ties` with `normalize: false`, so that density 1 with
    /// agreeing signs gives back the exact weighted sum).
    static func ties(_ weighted: [[Float]], density: Double) -> [Float] {
        let n = weighted.first?.count ?? 0
        let trimmed = weighted.map { trim($0, density: density) }
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { o in
            var elected = [Float](repeating: 0, count: n)
            elected.withUnsafeMutableBufferPointer { e in
                for t in trimmed {
                    t.withUnsafeBufferPointer { p in for i in 0..<n { e[i] += p[i] } }
                }
                for t in trimmed {
                    t.withUnsafeBufferPointer { p in
                        for i in 0..<n where p[i] != 0 && (p[i] > 0) == (e[i] > 0) && e[i] != 0 { o[i] += p[i] }
                    }
                }
            }
        }
        return out
    }

    /// Keeps the `round(density · n)` entries of largest magnitude (ties
    /// broken by position, so the result is deterministic) and zeroes the rest.
    static func trim(_ values: [Float], density: Double) -> [Float] {
        let n = values.count
        let keep = Swift.min(n, Swift.max(0, Int((density * Double(n)).rounded())))
        if keep >= n { return values }
        if keep == 0 { return [Float](repeating: 0, count: n) }
        var magnitudes = values.map { abs($0) }
        let threshold = select(&magnitudes, rank: n - keep)  // the keep-th largest
        var out = [Float](repeating: 0, count: n)
        var above = 0
        for v in values where abs(v) > threshold { above += 1 }
        var equalAllowed = keep - above
        values.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<n {
                    let m = abs(p[i])
                    if m > threshold {
                        o[i] = p[i]
                    } else if m == threshold && equalAllowed > 0 {
                        o[i] = p[i]
                        equalAllowed -= 1
                    }
                }
            }
        }
        return out
    }

    /// The element that would be at `rank` if `values` were sorted ascending
    /// (Hoare quickselect with median-of-three pivots; reorders `values`).
    static func select(_ values: inout [Float], rank: Int) -> Float {
        values.withUnsafeMutableBufferPointer { v in
            var lo = 0
            var hi = v.count - 1
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if v[mid] < v[lo] { v.swapAt(mid, lo) }
                if v[hi] < v[lo] { v.swapAt(hi, lo) }
                if v[hi] < v[mid] { v.swapAt(hi, mid) }
                let pivot = v[mid]
                var i = lo
                var j = hi
                while i <= j {
                    while v[i] < pivot { i += 1 }
                    while v[j] > pivot { j -= 1 }
                    if i <= j {
                        v.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if rank <= j { hi = j } else if rank >= i { lo = i } else { return v[rank] }
            }
            return v[rank]
        }
    }

    /// DARE (Yu et al., 2024): drop each entry with probability 1 − density
    /// and rescale the survivors by 1/density, then add (mergekit's `dare_linear`).
    static func dare(_ weighted: [[Float]], density: Double, generators: inout [SeededGenerator]) -> [Float] {
        let n = weighted.first?.count ?? 0
        var out = [Float](repeating: 0, count: n)
        let rescale = Float(1 / density)
        for (k, values) in weighted.enumerated() {
            values.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<n where generators[k].nextUniform() < density { o[i] += p[i] * rescale }
                }
            }
        }
        return out
    }

    /// A rank-`l` factorisation `Q · (Qᵀ M)` of a dense out × in matrix that
    /// captures its top singular directions (randomized range finder of
    /// Halko, Martinsson & Tropp, with `powerIterations` re-orthonormalised
    /// power steps). Everything is sgemm on the dense matrix plus thin QRs.
    static func rangeFactorization(
        _ m: [Float], rows: Int, columns: Int, rank l: Int,
        powerIterations: Int = 2, generator: inout SeededGenerator
    ) throws -> LowRankDelta {
        let mat = Matrix<Float>(rows: rows, columns: columns, elements: m)
        let width = Swift.min(l, rows, columns)
        let omega = Matrix<Float>(
            rows: columns, columns: width,
            elements: (0..<(columns * width)).map { _ in Float(generator.nextNormal()) })
        var q = try mat.multiplied(by: omega).asDouble.qr().q.asFloat
        for _ in 0..<powerIterations {
            let z = try mat.multiplied(by: q, transposeSelf: true).asDouble.qr().q.asFloat
            q = try mat.multiplied(by: z).asDouble.qr().q.asFloat
        }
        let projected = q.multiplied(by: mat, transposeSelf: true)  // width × in
        return LowRankDelta(a: projected.asDouble, b: q.asDouble)
    }
}
