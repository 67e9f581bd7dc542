/// The exactness certificate of one merged module.
public struct ModuleMergeReport: Sendable {
    public let path: String
    public let layer: Int?
    public let outFeatures: Int
    public let inFeatures: Int
    public let method: MergeMethod
    /// Each input's rank for this module, `nil` where the input does not target it.
    public let inputRanks: [Int?]
    public let outputRank: Int
    /// The rank the truncation kept, below ``outputRank`` when the factors are
    /// padded with zeros to an allowed rank (``MergeOptions/allowedRanks``).
    public let keptRank: Int
    /// `‖B'A' − Σ wᵢ ΔWᵢ‖_F / ‖Σ wᵢ ΔWᵢ‖_F`, of the factors as stored (after
    /// rounding to the output dtype), computed in factor space.
    public let relativeError: Double
    /// `‖Σ wᵢ ΔWᵢ‖_F`, the size of the target.
    public let targetNorm: Double
    /// For `svd`: energy of the target kept by the truncation. For `ties` and
    /// `dare`: energy of the method's dense result kept by the low-rank refactoring.
    public let retainedEnergy: Double?

    /// Whether only some inputs target this module.
    public var isPartial: Bool { inputRanks.contains { $0 == nil } }
}

/// The certificate of a whole merge.
public struct MergeReport: Sendable {
    public let method: MergeMethod
    public let weights: [Double]
    public var modules: [ModuleMergeReport]

    public init(method: MergeMethod, weights: [Double], modules: [ModuleMergeReport] = []) {
        self.method = method
        self.weights = weights
        self.modules = modules
    }

    /// `‖B'A' − target‖_F / ‖target‖_F` over all modules together.
    public var totalRelativeError: Double {
        var err = 0.0
        var norm = 0.0
        for m in modules {
            err += (m.relativeError * m.targetNorm) * (m.relativeError * m.targetNorm)
            norm += m.targetNorm * m.targetNorm
        }
        return norm > 0 ? (err / norm).squareRoot() : 0
    }

    /// The largest per-module relative error.
    public var maximumRelativeError: Double { modules.map(\.relativeError).max() ?? 0 }

    /// Modules that only some inputs target.
    public var partialModules: [ModuleMergeReport] { modules.filter(\.isPartial) }
}
