import CBLAS

/// The thin QR factorisation `M = Q · R` of an m × n matrix.
public struct QRFactorization<Scalar: BLASScalar>: Sendable {
    /// m × p with orthonormal columns, p = min(m, n).
    public let q: Matrix<Scalar>
    /// p × n, upper triangular (upper trapezoidal when m < n).
    public let r: Matrix<Scalar>
}

/// The thin singular value decomposition `M = U · diag(S) · Vᵀ`.
public struct SingularValueDecomposition<Scalar: BLASScalar>: Sendable {
    /// m × p with orthonormal columns, p = min(m, n).
    public let u: Matrix<Scalar>
    /// The p singular values, descending.
    public let singularValues: [Scalar]
    /// p × n with orthonormal rows.
    public let vt: Matrix<Scalar>
}

extension Matrix {
    /// Column-major copy, the layout LAPACK expects.
    fileprivate var columnMajor: [Scalar] { transposed.elements }

    fileprivate static func fromColumnMajor(_ data: [Scalar], rows: Int, columns: Int) -> Matrix {
        Matrix(rows: columns, columns: rows, elements: data).transposed
    }

    /// The thin QR factorisation through LAPACK `geqrf` and `orgqr`.
    public func qr() throws -> QRFactorization<Scalar> {
        let m = rows, n = columns, p = Swift.min(rows, columns)
        if p == 0 {
            return QRFactorization(q: Matrix(zeros: m, 0), r: Matrix(zeros: 0, n))
        }
        var a = columnMajor
        var tau = [Scalar](repeating: 0, count: p)
        var m32 = Int32(m), n32 = Int32(n), lda = Int32(m), info: Int32 = 0
        var query: Scalar = 0
        var lwork: Int32 = -1
        Scalar.geqrf(&m32, &n32, &a, &lda, &tau, &query, &lwork, &info)
        lwork = Int32(Swift.max(1, Int(query)))
        var work = [Scalar](repeating: 0, count: Int(lwork))
        Scalar.geqrf(&m32, &n32, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw TensorError(.lapackFailure, "geqrf failed with info \(info)") }

        // R is the upper triangle of the first p rows (column-major: element (i, j) at j*m + i).
        var r = Matrix(zeros: p, n)
        for j in 0..<n {
            for i in 0...Swift.min(j, p - 1) { r[i, j] = a[j * m + i] }
        }
        var p32 = Int32(p)
        lwork = -1
        Scalar.orgqr(&m32, &p32, &p32, &a, &lda, &tau, &query, &lwork, &info)
        lwork = Int32(Swift.max(1, Int(query)))
        work = [Scalar](repeating: 0, count: Int(lwork))
        Scalar.orgqr(&m32, &p32, &p32, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw TensorError(.lapackFailure, "orgqr failed with info \(info)") }
        let q = Matrix.fromColumnMajor(Array(a[0..<(m * p)]), rows: m, columns: p)
        return QRFactorization(q: q, r: r)
    }

    /// The thin SVD through LAPACK `gesdd` (divide and conquer).
    public func svd() throws -> SingularValueDecomposition<Scalar> {
        let m = rows, n = columns, p = Swift.min(rows, columns)
        if p == 0 {
            return SingularValueDecomposition(u: Matrix(zeros: m, 0), singularValues: [], vt: Matrix(zeros: 0, n))
        }
        var a = columnMajor
        var s = [Scalar](repeating: 0, count: p)
        var u = [Scalar](repeating: 0, count: m * p)
        var vt = [Scalar](repeating: 0, count: p * n)
        var iwork = [Int32](repeating: 0, count: 8 * p)
        var m32 = Int32(m), n32 = Int32(n), lda = Int32(m), ldu = Int32(m), ldvt = Int32(p), info: Int32 = 0
        var jobz = CChar(UInt8(ascii: "S"))
        var query: Scalar = 0
        var lwork: Int32 = -1
        Scalar.gesdd(&jobz, &m32, &n32, &a, &lda, &s, &u, &ldu, &vt, &ldvt, &query, &lwork, &iwork, &info)
        lwork = Int32(Swift.max(1, Int(query)))
        var work = [Scalar](repeating: 0, count: Int(lwork))
        Scalar.gesdd(&jobz, &m32, &n32, &a, &lda, &s, &u, &ldu, &vt, &ldvt, &work, &lwork, &iwork, &info)
        guard info == 0 else {
            throw TensorError(.lapackFailure, info > 0 ? "gesdd did not converge" : "gesdd: bad argument \(-info)")
        }
        return SingularValueDecomposition(
            u: Matrix.fromColumnMajor(u, rows: m, columns: p),
            singularValues: s,
            vt: Matrix.fromColumnMajor(vt, rows: p, columns: n))
    }

    /// The singular values only (descending).
    public func singularValues() throws -> [Scalar] {
        let p = Swift.min(rows, columns)
        if p == 0 { return [] }
        var a = columnMajor
        var s = [Scalar](repeating: 0, count: p)
        var dummyU = [Scalar](repeating: 0, count: 1)
        var dummyV = [Scalar](repeating: 0, count: 1)
        var iwork = [Int32](repeating: 0, count: 8 * p)
        var m32 = Int32(rows), n32 = Int32(columns), lda = Int32(rows), one: Int32 = 1, info: Int32 = 0
        // gesdd reads ldu/ldvt even with jobz = N; 1 is the documented minimum.
        var jobz = CChar(UInt8(ascii: "N"))
        var query: Scalar = 0
        var lwork: Int32 = -1
        Scalar.gesdd(&jobz, &m32, &n32, &a, &lda, &s, &dummyU, &one, &dummyV, &one, &query, &lwork, &iwork, &info)
        lwork = Int32(Swift.max(1, Int(query)))
        var work = [Scalar](repeating: 0, count: Int(lwork))
        Scalar.gesdd(&jobz, &m32, &n32, &a, &lda, &s, &dummyU, &one, &dummyV, &one, &work, &lwork, &iwork, &info)
        guard info == 0 else {
            throw TensorError(.lapackFailure, info > 0 ? "gesdd did not converge" : "gesdd: bad argument \(-info)")
        }
        return s
    }
}
