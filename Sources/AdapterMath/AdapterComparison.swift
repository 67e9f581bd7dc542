import AdapterFormat
import Foundation
import Tensors

/// How two updates of the same module relate: do they point the same way,
/// and do they write into the same subspaces?
public struct ModuleComparison: Sendable {
    public let path: String
    public let layer: Int?
    /// `‖ΔW_a‖_F` and `‖ΔW_b‖_F`.
    public let normA: Double
    public let normB: Double
    /// `⟨ΔW_a, ΔW_b⟩_F`.
    public let inner: Double
    /// Principal angles (degrees, ascending) between the column spaces of the
    /// two updates: the output directions they write to.
    public let columnAngles: [Double]
    /// Principal angles (degrees, ascending) between the row spaces: the input
    /// directions they read from.
    public let rowAngles: [Double]

    /// Cosine similarity of the two updates as vectors (0 if either is zero).
    public var cosine: Double { normA > 0 && normB > 0 ? inner / (normA * normB) : 0 }
    /// `‖ΔW_b‖_F / ‖ΔW_a‖_F`.
    public var normRatio: Double { normA > 0 ? normB / normA : .infinity }
}

extension ModuleComparison {
    /// Compares two updates in factor space: inner products from r × r
    /// products, angles from the singular subspaces of each update.
    public init(path: String, layer: Int?, a: LowRankDelta, b: LowRankDelta) throws {
        self.path = path
        self.layer = layer
        let ua = try a.singularSubspaces()
        let ub = try b.singularSubspaces()
        normA = ua.norm
        normB = ub.norm
        inner = a.frobeniusInner(b)
        columnAngles = try ModuleComparison.angles(ua.left, ub.left)
        rowAngles = try ModuleComparison.angles(ua.right, ub.right)
    }

    /// Principal angles between the spans of two orthonormal bases: the arccos
    /// of the singular values of `Uᵀ V`.
    static func angles(_ u: Matrix<Double>, _ v: Matrix<Double>) throws -> [Double] {
        guard u.columns > 0, v.columns > 0 else { return [] }
        let cosines = try u.multiplied(by: v, transposeSelf: true).singularValues()
        return cosines.map { acos(Swift.min(1, Swift.max(-1, $0))) * 180 / .pi }
    }
}

extension LowRankDelta {
    /// Orthonormal bases of the column and row spaces of ΔW (directions with
    /// singular value above 1e-10 of the largest) and `‖ΔW‖_F`.
    public func singularSubspaces() throws -> (left: Matrix<Double>, right: Matrix<Double>, norm: Double) {
        guard rank > 0 else { return (Matrix(zeros: outFeatures, 0), Matrix(zeros: inFeatures, 0), 0) }
        let qb = try b.qr()
        let qa = try a.transposed.qr()
        let svd = try qb.r.multiplied(by: qa.r, transposeOther: true).svd()
        let s = svd.singularValues
        let norm = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let keep = s.filter { $0 > (s.first ?? 0) * 1e-10 && $0 > 0 }.count
        let left = qb.q.multiplied(by: svd.u.columns(0..<keep))
        let right = qa.q.multiplied(by: svd.vt.rows(0..<keep), transposeOther: true)
        return (left, right, norm)
    }
}

/// One layer's updates taken together: the cosine and norm ratio of the
/// concatenation of its modules' ΔW (from the modules' inner products and norms).
public struct LayerComparison: Sendable {
    public let layer: Int
    public let cosine: Double
    public let normRatio: Double

    /// Per layer, in order; modules without a layer are left out.
    public static func of(_ comparisons: [ModuleComparison]) -> [LayerComparison] {
        var sums: [Int: (inner: Double, a: Double, b: Double)] = [:]
        for c in comparisons {
            guard let l = c.layer else { continue }
            sums[l, default: (0, 0, 0)].inner += c.inner
            sums[l, default: (0, 0, 0)].a += c.normA * c.normA
            sums[l, default: (0, 0, 0)].b += c.normB * c.normB
        }
        return sums.keys.sorted().map { l in
            let s = sums[l]!
            let denominator = (s.a * s.b).squareRoot()
            return LayerComparison(
                layer: l, cosine: denominator > 0 ? s.inner / denominator : 0,
                normRatio: s.a > 0 ? (s.b / s.a).squareRoot() : .infinity)
        }
    }
}

/// `diff`'s whole computation: every module two adapters share, compared in
/// factor space, and the modules only one of them has.
public struct AdapterDiff: Sendable {
    public let modules: [ModuleComparison]
    public let onlyA: [String]
    public let onlyB: [String]

    /// Refuses shared modules of different shapes and factors holding NaN/Inf, naming the file and module.
    public init(_ a: any AdapterSource, _ b: any AdapterSource) throws {
        var modules: [ModuleComparison] = []
        for ma in a.modules {
            guard let mb = b.module(ma.path) else { continue }
            guard ma.outFeatures == mb.outFeatures, ma.inFeatures == mb.inFeatures else {
                throw MergeError(
                    .incompatible,
                    "module \(ma.path) is \(ma.outFeatures)×\(ma.inFeatures) in \(a.location) but \(mb.outFeatures)×\(mb.inFeatures) in \(b.location)"
                )
            }
            do {
                let da = try LowRankDelta(module: ma, factors: try a.finiteFactors(of: ma))
                let db = try LowRankDelta(module: mb, factors: try b.finiteFactors(of: mb))
                modules.append(try ModuleComparison(path: ma.path, layer: ma.layer, a: da, b: db))
            } catch let error as TensorError {
                throw FormatError(
                    .invalidContent, "cannot compare: \(error.message)", path: a.location, location: ma.path)
            }
        }
        self.modules = modules
        onlyA = a.modules.map(\.path).filter { b.module($0) == nil }
        onlyB = b.modules.map(\.path).filter { a.module($0) == nil }
    }
}
