import Tensors
import AdapterFormat

/// A low-rank update `ΔW = B · A` held in factor form, in `Double`.
///
/// `A` is (r × in) and `B` is (out × r). The scaling of the adapter is folded
/// into the factors (``init(a:b:scaling:)`` puts it on B), which is the
/// canonical form every merge starts from. Nothing here ever forms the
/// dense out × in matrix.
public struct LowRankDelta: Sendable {
    public var a: Matrix<Double>
    public var b: Matrix<Double>

    public init(a: Matrix<Double>, b: Matrix<Double>) {
        precondition(a.rows == b.columns, "LowRankDelta: A has \(a.rows) rows, B has \(b.columns) columns")
        self.a = a
        self.b = b
    }

    /// The update `scaling · B · A` from stored factors.
    public init(a: Tensor, b: Tensor, scaling: Double) throws {
        let am = Matrix<Double>(rows: a.shape[0], columns: a.shape[1], elements: try a.doubles())
        let bm = Matrix<Double>(rows: b.shape[0], columns: b.shape[1], elements: try b.doubles(scaledBy: scaling))
        self.init(a: am, b: bm)
    }

    /// The update of one module of an adapter, with its scaling folded in.
    public init(module: LoraModuleInfo, factors: (a: Tensor, b: Tensor)) throws {
        try self.init(a: factors.a, b: factors.b, scaling: module.scaling)
    }

    public var rank: Int { a.rows }
    public var inFeatures: Int { a.columns }
    public var outFeatures: Int { b.rows }

    /// NaN and infinite entries in both factors.
    public var nonFiniteCount: Int {
        a.elements.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } + b.elements.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
    }

    /// Triangular factors `R_B` (from B = Q_B R_B) and `R_A` (from Aᵀ = Q_A R_A).
    ///
    /// Their Gram matrices are `BᵀB` and `AAᵀ`; the small core `R_B R_Aᵀ` has
    /// the same singular values as ΔW, so every norm and spectrum comes from
    /// r × r work after two thin QRs.
    public func triangularFactors() throws -> (rb: Matrix<Double>, ra: Matrix<Double>) {
        (try b.triangularFactor(), try a.triangularFactor(ofTranspose: true))
    }

    /// The r × r core whose singular values are those of ΔW.
    public func core() throws -> Matrix<Double> {
        let (rb, ra) = try triangularFactors()
        return rb.multiplied(by: ra, transposeOther: true)
    }

    /// Singular values of ΔW (descending, at most r of them).
    public func singularValues() throws -> [Double] {
        guard rank > 0, inFeatures > 0, outFeatures > 0 else { return [] }
        return try core().singularValues()
    }

    /// `⟨ΔW, other⟩_F = tr(A₁ᵀ B₁ᵀ B₂ A₂) = tr((B₁ᵀB₂)(A₂A₁ᵀ))`, from r₁ × r₂ matrices.
    public func frobeniusInner(_ other: LowRankDelta) -> Double {
        let bb = b.multiplied(by: other.b, transposeSelf: true)  // r1 × r2
        let aa = other.a.multiplied(by: a, transposeOther: true)  // r2 × r1
        var trace = 0.0
        for i in 0..<bb.rows {
            for k in 0..<bb.columns { trace += bb[i, k] * aa[k, i] }
        }
        return trace
    }

    /// `‖ΔW‖_F²` from the Gram matrices.
    public var squaredFrobeniusNorm: Double { frobeniusInner(self) }
}
