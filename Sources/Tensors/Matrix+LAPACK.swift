import CBLAS

/// The thin QR factorisation `M = Q · R` of an m × n matrix.
public struct QRFactorization<Scalar: BLASScalar>: Sendable {
    /// m × p with orthonormal columns, p = min(m, n).
    public let q: Matrix<Scalar>
    /// p × n, upper triangular (upper trapezoidal when m < n).
    public let r: Matrix<Scalar>

    @inlinable init(q: Matrix<Scalar>, r: Matrix<Scalar>) {
        self.q = q
        self.r = r
    }
}

/// The thin singular value decomposition `M = U · diag(S) · Vᵀ`.
public struct SingularValueDecomposition<Scalar: BLASScalar>: Sendable {
    /// m × p with orthonormal columns, p = min(m, n).
    public let u: Matrix<Scalar>
    /// The p singular values, descending.
    public let singularValues: [Scalar]
    /// p × n with orthonormal rows.
    public let vt: Matrix<Scalar>

    @inlinable init(u: Matrix<Scalar>, singularValues: [Scalar], vt: Matrix<Scalar>) {
        self.u = u
        self.singularValues = singularValues
        self.vt = vt
    }
}

extension Matrix {
    /// Column-major copy, the layout LAPACK expects.
    @inlinable var columnMajor: [Scalar] { transposed.elements }

    @inlinable static func fromColumnMajor(_ data: [Scalar], rows: Int, columns: Int) -> Matrix {
        Matrix(rows: columns, columns: rows, elements: data).transposed
    }

    /// Householder QR in place (`geqrf`) of the m × n column-major `a`; returns the reflector scales.
    @inlinable static func householder(_ a: inout [Scalar], m: Int, n: Int) throws -> [Scalar] {
        var tau = [Scalar](repeating: 0, count: Swift.min(m, n))
        var m32 = Int32(m)
        var n32 = Int32(n)
        var lda = Int32(m)
        var info: Int32 = 0
        var query: Scalar = 0
        var lwork: Int32 = -1
        Scalar.geqrf(&m32, &n32, &a, &lda, &tau, &query, &lwork, &info)
        lwork = Int32(Swift.max(1, Int(query)))
        var work = [Scalar](repeating: 0, count: Int(lwork))
        Scalar.geqrf(&m32, &n32, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw TensorError(.lapackFailure, "geqrf failed with info \(info)") }
        return tau
    }

    /// The p × n upper triangle R that `householder` left in the column-major `a`.
    @inlinable static func upperTriangle(_ a: [Scalar], m: Int, n: Int) -> Matrix {
        let p = Swift.min(m, n)
        var r = [Scalar](repeating: 0, count: p * n)
        a.withUnsafeBufferPointer { src in
            r.withUnsafeMutableBufferPointer { dst in
                for j in 0..<n {
                    for i in 0...Swift.min(j, p - 1) { dst[i * n + j] = src[j * m + i] }
                }
            }
        }
        return Matrix(rows: p, columns: n, elements: r)
    }

    /// The thin QR factorisation through LAPACK `geqrf` and `orgqr`.
    @inlinable public func qr() throws -> QRFactorization<Scalar> {
        let m = rows
        let n = columns
        let p = Swift.min(rows, columns)
        if p == 0 {
            return QRFactorization(q: Matrix(zeros: m, 0), r: Matrix(zeros: 0, n))
        }
        var a = columnMajor
        let tau = try Matrix.householder(&a, m: m, n: n)
        let r = Matrix.upperTriangle(a, m: m, n: n)
        var m32 = Int32(m)
        var p32 = Int32(p)
        var lda = Int32(m)
        var info: Int32 = 0
        var query: Scalar = 0
        var lwork: Int32 = -1
        Scalar.orgqr(&m32, &p32, &p32, &a, &lda, tau, &query, &lwork, &info)
        lwork = Int32(Swift.max(1, Int(query)))
        var work = [Scalar](repeating: 0, count: Int(lwork))
        Scalar.orgqr(&m32, &p32, &p32, &a, &lda, tau, &work, &lwork, &info)
        guard info == 0 else { throw TensorError(.lapackFailure, "orgqr failed with info \(info)") }
        let q = Matrix.fromColumnMajor(Array(a[0..<(m * p)]), rows: m, columns: p)
        return QRFactorization(q: q, r: r)
    }

    /// Only the triangular factor R of the thin QR of this matrix, or of its
    /// transpose: `Q` is never formed, so this is the cheap way to a Gram
    /// matrix's square root (`RᵀR = MᵀM`).
    ///
    /// For `ofTranspose`, the row-major buffer of M is already the
    /// column-major buffer of Mᵀ, so nothing is copied before LAPACK runs.
    @inlinable public func triangularFactor(ofTranspose: Bool = false) throws -> Matrix {
        let m = ofTranspose ? columns : rows
        let n = ofTranspose ? rows : columns
        if Swift.min(m, n) == 0 { return Matrix(zeros: 0, n) }
        var a = ofTranspose ? elements : columnMajor
        _ = try Matrix.householder(&a, m: m, n: n)
        return Matrix.upperTriangle(a, m: m, n: n)
    }

    /// The thin SVD through LAPACK `gesdd` (divide and conquer).
    @inlinable public func svd() throws -> SingularValueDecomposition<Scalar> {
        let m = rows
        let n = columns
        let p = Swift.min(rows, columns)
        if p == 0 {
            return SingularValueDecomposition(u: Matrix(zeros: m, 0), singularValues: [], vt: Matrix(zeros: 0, n))
        }
        var a = columnMajor
        var s = [Scalar](repeating: 0, count: p)
        var u = [Scalar](repeating: 0, count: m * p)
        var vt = [Scalar](repeating: 0, count: p * n)
        var iwork = [Int32](repeating: 0, count: 8 * p)
        var m32 = Int32(m)
        var n32 = Int32(n)
        var lda = Int32(m)
        var ldu = Int32(m)
        var ldvt = Int32(p)
        var info: Int32 = 0
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
    @inlinable public func singularValues() throws -> [Scalar] {
        let p = Swift.min(rows, columns)
        if p == 0 { return [] }
        var a = columnMajor
        var s = [Scalar](repeating: 0, count: p)
        var dummyU = [Scalar](repeating: 0, count: 1)
        var dummyV = [Scalar](repeating: 0, count: 1)
        var iwork = [Int32](repeating: 0, count: 8 * p)
        var m32 = Int32(rows)
        var n32 = Int32(columns)
        var lda = Int32(rows)
        var one: Int32 = 1
        var info: Int32 = 0
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
