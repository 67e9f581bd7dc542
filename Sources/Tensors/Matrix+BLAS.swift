import CBLAS

extension Matrix {
    /// `op(self) · op(other)` through BLAS gemm, where `op` transposes when asked.
    ///
    /// Shapes are checked; a mismatch is a programming error in the caller,
    /// never a user input, so it traps.
    @inlinable public func multiplied(
        by other: Matrix, transposeSelf: Bool = false, transposeOther: Bool = false,
        alpha: Scalar = 1
    ) -> Matrix {
        let m = transposeSelf ? columns : rows
        let k = transposeSelf ? rows : columns
        let k2 = transposeOther ? other.columns : other.rows
        let n = transposeOther ? other.rows : other.columns
        precondition(k == k2, "gemm: inner dimensions \(k) and \(k2) differ")
        var out = [Scalar](repeating: 0, count: m * n)
        if m == 0 || n == 0 { return Matrix(rows: m, columns: n, elements: out) }
        if k == 0 { return Matrix(rows: m, columns: n, elements: out) }
        elements.withUnsafeBufferPointer { a in
            other.elements.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    Scalar.gemm(
                        CblasRowMajor,
                        transposeSelf ? CblasTrans : CblasNoTrans,
                        transposeOther ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha,
                        a.baseAddress!, Int32(max(columns, 1)),
                        b.baseAddress!, Int32(max(other.columns, 1)),
                        0, c.baseAddress!, Int32(max(n, 1)))
                }
            }
        }
        return Matrix(rows: m, columns: n, elements: out)
    }

    /// `selfᵀ · self`, the Gram matrix of the columns.
    @inlinable public var gram: Matrix { multiplied(by: self, transposeSelf: true) }
}
