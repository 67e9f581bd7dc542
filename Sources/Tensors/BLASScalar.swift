import CBLAS

/// The scalar types OpenBLAS and LAPACK work on: `Float` and `Double`.
///
/// Each conforming type forwards to its BLAS/LAPACK routine (s- or d-prefixed),
/// so generic code in ``Matrix`` calls the right one without a type switch.
public protocol BLASScalar: BinaryFloatingPoint, Sendable {
    static func gemm(
        _ order: CBLAS_ORDER, _ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE,
        _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Self,
        _ a: UnsafePointer<Self>, _ lda: Int32, _ b: UnsafePointer<Self>, _ ldb: Int32,
        _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
    static func geqrf(
        _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Self>,
        _ lda: UnsafePointer<Int32>, _ tau: UnsafeMutablePointer<Self>, _ work: UnsafeMutablePointer<Self>,
        _ lwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>)
    static func orgqr(
        _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>, _ k: UnsafePointer<Int32>,
        _ a: UnsafeMutablePointer<Self>, _ lda: UnsafePointer<Int32>, _ tau: UnsafePointer<Self>,
        _ work: UnsafeMutablePointer<Self>, _ lwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>)
    static func gesdd(
        _ jobz: UnsafePointer<CChar>, _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>,
        _ a: UnsafeMutablePointer<Self>, _ lda: UnsafePointer<Int32>, _ s: UnsafeMutablePointer<Self>,
        _ u: UnsafeMutablePointer<Self>, _ ldu: UnsafePointer<Int32>, _ vt: UnsafeMutablePointer<Self>,
        _ ldvt: UnsafePointer<Int32>, _ work: UnsafeMutablePointer<Self>, _ lwork: UnsafePointer<Int32>,
        _ iwork: UnsafeMutablePointer<Int32>, _ info: UnsafeMutablePointer<Int32>)
}

extension Float: BLASScalar {
    public static func gemm(
        _ order: CBLAS_ORDER, _ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE,
        _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int32
    ) {
        cblas_sgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func geqrf(
        _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Float>,
        _ lda: UnsafePointer<Int32>, _ tau: UnsafeMutablePointer<Float>, _ work: UnsafeMutablePointer<Float>,
        _ lwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        sgeqrf_(m, n, a, lda, tau, work, lwork, info)
    }
    public static func orgqr(
        _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>, _ k: UnsafePointer<Int32>,
        _ a: UnsafeMutablePointer<Float>, _ lda: UnsafePointer<Int32>, _ tau: UnsafePointer<Float>,
        _ work: UnsafeMutablePointer<Float>, _ lwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        sorgqr_(m, n, k, a, lda, tau, work, lwork, info)
    }
    public static func gesdd(
        _ jobz: UnsafePointer<CChar>, _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>,
        _ a: UnsafeMutablePointer<Float>, _ lda: UnsafePointer<Int32>, _ s: UnsafeMutablePointer<Float>,
        _ u: UnsafeMutablePointer<Float>, _ ldu: UnsafePointer<Int32>, _ vt: UnsafeMutablePointer<Float>,
        _ ldvt: UnsafePointer<Int32>, _ work: UnsafeMutablePointer<Float>, _ lwork: UnsafePointer<Int32>,
        _ iwork: UnsafeMutablePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        sgesdd_(jobz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork, info)
    }
}

extension Double: BLASScalar {
    public static func gemm(
        _ order: CBLAS_ORDER, _ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE,
        _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Double,
        _ a: UnsafePointer<Double>, _ lda: Int32, _ b: UnsafePointer<Double>, _ ldb: Int32,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int32
    ) {
        cblas_dgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func geqrf(
        _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Double>,
        _ lda: UnsafePointer<Int32>, _ tau: UnsafeMutablePointer<Double>, _ work: UnsafeMutablePointer<Double>,
        _ lwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        dgeqrf_(m, n, a, lda, tau, work, lwork, info)
    }
    public static func orgqr(
        _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>, _ k: UnsafePointer<Int32>,
        _ a: UnsafeMutablePointer<Double>, _ lda: UnsafePointer<Int32>, _ tau: UnsafePointer<Double>,
        _ work: UnsafeMutablePointer<Double>, _ lwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        dorgqr_(m, n, k, a, lda, tau, work, lwork, info)
    }
    public static func gesdd(
        _ jobz: UnsafePointer<CChar>, _ m: UnsafePointer<Int32>, _ n: UnsafePointer<Int32>,
        _ a: UnsafeMutablePointer<Double>, _ lda: UnsafePointer<Int32>, _ s: UnsafeMutablePointer<Double>,
        _ u: UnsafeMutablePointer<Double>, _ ldu: UnsafePointer<Int32>, _ vt: UnsafeMutablePointer<Double>,
        _ ldvt: UnsafePointer<Int32>, _ work: UnsafeMutablePointer<Double>, _ lwork: UnsafePointer<Int32>,
        _ iwork: UnsafeMutablePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        dgesdd_(jobz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork, info)
    }
}

extension BLASScalar {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C` on raw pointers, with
    /// leading dimensions in elements; does nothing when C is empty.
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        gemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(max(lda, 1)), b, Int32(max(ldb, 1)), beta, c,
            Int32(max(ldc, 1)))
    }
}
