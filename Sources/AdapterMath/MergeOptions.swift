import AdapterFormat
import Tensors

/// How `combine` turns several updates into one.
///
/// Every method is measured against the same target, `Σᵢ wᵢ ΔWᵢ` per module.
public enum MergeMethod: String, Sendable, CaseIterable {
    /// Stack the factors: exact, rank Σ rᵢ.
    case concat
    /// PEFT's `linear`: weighted sums of the factors (equal ranks); cross terms make it inexact.
    case add
    /// The exact sum truncated to rank k by a factor-space SVD.
    case svd
    /// TIES on the dense updates, refactored to rank k.
    case ties
    /// DARE on the dense updates, refactored to rank k.
    case dare

    /// Whether the method draws random numbers (and so records a seed).
    public var isRandomized: Bool { self == .dare || self == .ties }
}

/// The options of a merge.
public struct MergeOptions: Sendable {
    public var method: MergeMethod
    /// One weight per input; may be negative.
    public var weights: [Double]
    /// Target rank for `svd` (default: the largest input rank) and for
    /// `ties`/`dare` (default: the sum of the input ranks).
    public var rank: Int?
    /// Fraction of entries kept by `ties` and `dare`.
    public var density: Double
    /// Seeds DARE's drop mask and the randomized range finder of `ties`/`dare`.
    public var seed: UInt64
    /// Merge adapters whose `base_model` names differ.
    public var allowBaseMismatch: Bool
    /// Merge factors that contain NaN or infinity.
    public var allowNonFinite: Bool
    /// Output dtype; `nil` keeps the inputs' dtype when they all share one, else f32.
    public var dtype: DType?
    /// Per input (by index), factors on its weight per band of layers.
    public var layerBands: [Int: LayerBands] = [:]
    /// For `svd`: pick each module's rank from its target's singular values;
    /// ``rank`` then caps it.
    public var rankRule: RankRule?
    /// For `svd`: the ranks a server accepts, ascending (vLLM's 8, 16, 32, 64).
    /// Each module keeps at most the largest and is padded with exact zeros up
    /// to the smallest one that holds what it keeps.
    public var allowedRanks: [Int] = []

    /// Input `input`'s weight in `layer`: its weight times its band factor there.
    public func weight(of input: Int, layer: Int?) -> Double {
        weights[input] * (layerBands[input]?.factor(layer: layer) ?? 1)
    }

    public init(
        method: MergeMethod = .concat, weights: [Double], rank: Int? = nil, density: Double = 0.5, seed: UInt64 = 0,
        allowBaseMismatch: Bool = false, allowNonFinite: Bool = false, dtype: DType? = nil
    ) {
        self.method = method
        self.weights = weights
        self.rank = rank
        self.density = density
        self.seed = seed
        self.allowBaseMismatch = allowBaseMismatch
        self.allowNonFinite = allowNonFinite
        self.dtype = dtype
    }
}

/// The domain of merge refusals.
public enum MergeErrorDomain {}

/// Why a merge was refused.
public typealias MergeError = CodedError<MergeErrorDomain>

extension ErrorCode where Domain == MergeErrorDomain {
    /// The inputs cannot belong together (module shapes).
    public static let incompatible = Self("incompatible inputs")
    /// The inputs name different base models (their shapes may still agree).
    public static let baseModelMismatch = Self("base model mismatch")
    /// The method cannot be applied to these inputs (e.g. `add` with unequal ranks).
    public static let unsupportedByMethod = Self("unsupported by method")
    /// NaN or infinity in an input.
    public static let nonFinite = Self("non-finite input")
    /// A factorization failed (LAPACK), most often on NaN/Inf let in by `allowNonFinite`.
    public static let numericalFailure = Self("numerical failure")
    /// Options that make no sense.
    public static let invalidOption = Self("invalid option")
}
