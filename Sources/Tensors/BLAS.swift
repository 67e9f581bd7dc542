import CBLAS

/// Raw single-precision BLAS for hot loops that work on strided views of
/// larger buffers (attention heads, batched projections). Row-major.
public enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, with leading dimensions in elements.
    @inline(__always)
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        Float.gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Limits OpenBLAS's own threads (the runtime parallelises around it).
    public static func setThreadCount(_ n: Int) {
        openblas_set_num_threads(Int32(n))
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
}
