import Tensors

/// One LoRA module of an adapter, without its tensors.
///
/// `A` has shape (rank × inFeatures) and `B` (outFeatures × rank), as in PEFT;
/// the update is `ΔW = scaling · B · A`.
public struct LoraModuleInfo: Sendable, Equatable, Hashable {
    /// The module's path in the base model, e.g. `model.layers.3.self_attn.q_proj`.
    public let path: String
    public let rank: Int
    public let inFeatures: Int
    public let outFeatures: Int
    public let alpha: Double
    /// rsLoRA: scaling is alpha/√r instead of alpha/r.
    public let useRSLoRA: Bool
    /// The dtype the factors are stored in.
    public let dtype: DType

    public init(
        path: String, rank: Int, inFeatures: Int, outFeatures: Int, alpha: Double, useRSLoRA: Bool, dtype: DType
    ) {
        self.path = path
        self.rank = rank
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.alpha = alpha
        self.useRSLoRA = useRSLoRA
        self.dtype = dtype
    }

    /// The factor PEFT multiplies `B · A` by.
    public var scaling: Double {
        guard rank > 0 else { return 0 }
        return useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
    }

    /// The PEFT tensor key of `A`.
    public var keyA: String { LoraModuleInfo.key(path, "lora_A") }
    /// The PEFT tensor key of `B`.
    public var keyB: String { LoraModuleInfo.key(path, "lora_B") }

    static let keyPrefix = "base_model.model."

    /// The Llama-family path of a block's projection (`q_proj` … `down_proj`):
    /// `model.layers.N.self_attn.q_proj`, `model.layers.N.mlp.up_proj`.
    public static func projectionPath(layer: Int, projection: String) -> String {
        let mlp = projection == "gate_proj" || projection == "up_proj" || projection == "down_proj"
        return "model.layers.\(layer).\(mlp ? "mlp" : "self_attn").\(projection)"
    }

    static func key(_ path: String, _ factor: String) -> String {
        "\(keyPrefix)\(path).\(factor).weight"
    }

    /// The transformer block index: the first purely numeric path component
    /// (`model.layers.3.mlp.up_proj` → 3, GPT-2's `transformer.h.3.attn.c_attn` → 3).
    public var layer: Int? {
        for part in path.split(separator: ".") {
            if let n = Int(part), n >= 0 { return n }
        }
        return nil
    }

    /// The last path component, e.g. `q_proj`: the name `target_modules` lists.
    public var targetName: String {
        path.split(separator: ".").last.map(String.init) ?? path
    }

    /// Parameter count of A and B.
    public var parameterCount: Int { rank * (inFeatures + outFeatures) }

    /// The same module with other values.
    public func with(rank: Int? = nil, alpha: Double? = nil, useRSLoRA: Bool? = nil, dtype: DType? = nil)
        -> LoraModuleInfo
    {
        LoraModuleInfo(
            path: path, rank: rank ?? self.rank, inFeatures: inFeatures, outFeatures: outFeatures,
            alpha: alpha ?? self.alpha, useRSLoRA: useRSLoRA ?? self.useRSLoRA, dtype: dtype ?? self.dtype)
    }

    /// Checks that a pair of factors has this module's shapes.
    public func validate(a: Tensor, b: Tensor, source: String) throws {
        guard a.shape == [rank, inFeatures], b.shape == [outFeatures, rank] else {
            throw FormatError(
                .malformed,
                "factor shapes A \(a.shape) and B \(b.shape) do not form a rank-\(rank) LoRA of \(outFeatures)×\(inFeatures)",
                path: source, location: path)
        }
    }
}

/// Orders module paths with embedded numbers compared numerically, so
/// `layers.2` comes before `layers.10`.
public func naturalOrder(_ a: String, _ b: String) -> Bool {
    let pa = a.split(separator: ".")
    let pb = b.split(separator: ".")
    for (x, y) in zip(pa, pb) where x != y {
        if let i = Int(x), let j = Int(y) { return i < j }
        return x < y
    }
    return pa.count < pb.count
}
