import AdapterFormat
import Tensors

/// LoRA adapters applied unmerged, each with its own weight, as llama.cpp's
/// `--lora-scaled` does: `y = x Wᵀ + Σ wᵢ sᵢ (x Aᵢᵀ) Bᵢᵀ`.
public struct AdapterStack: Sendable {
    /// One adapter's update of one projection, with scaling and weight folded into `scale`.
    public struct Term: Sendable {
        public let rank: Int
        /// r × in, row-major.
        public let a: [Float]
        /// out × r, row-major.
        public let b: [Float]
        public let scale: Float
    }

    /// `terms[layer][projection]`.
    public private(set) var terms: [[String: [Term]]]

    public static let empty = AdapterStack(layers: 0)

    init(layers: Int) { terms = Array(repeating: [:], count: layers) }

    /// Maps every module of every adapter onto the model's projections, checking shapes.
    public init(adapters: [(source: any AdapterSource, weight: Double)], config: ModelConfig) throws {
        self.init(layers: config.layerCount)
        for (source, weight) in adapters {
            for module in source.modules {
                let parts = module.path.split(separator: ".")
                guard parts.count == 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
                      layer >= 0, layer < config.layerCount, let shape = config.projectionShape(String(parts[4])),
                      (parts[3] == "self_attn") == ["q_proj", "k_proj", "v_proj", "o_proj"].contains(String(parts[4])),
                      parts[3] == "self_attn" || parts[3] == "mlp" else {
                    throw FormatError(.unsupported, "module \(module.path) is not a projection of this \(config.modelType.rawValue) model",
                                      path: source.location)
                }
                guard shape.out == module.outFeatures, shape.in == module.inFeatures else {
                    throw FormatError(.invalidContent,
                                      "module \(module.path) is \(module.outFeatures)×\(module.inFeatures), the model's is \(shape.out)×\(shape.in): the adapter is for another base model",
                                      path: source.location)
                }
                let (a, b) = try source.factors(of: module)
                terms[layer][String(parts[4]), default: []].append(
                    Term(rank: module.rank, a: try a.floats(), b: try b.floats(), scale: Float(module.scaling * weight)))
            }
        }
    }

    public var isEmpty: Bool { terms.allSatisfy(\.isEmpty) }
}
