import AdapterFormat
import Foundation

/// The architecture of a Llama-family checkpoint, read from `config.json`.
///
/// Llama, Qwen2 and Mistral share one decoder: RMSNorm, rotary attention with
/// grouped-query heads, and a SwiGLU MLP. They differ in what this struct
/// records: biases on q/k/v (Qwen2), tied embeddings, RoPE base and scaling,
/// and Mistral's sliding window.
public struct ModelConfig: Sendable, Equatable {
    public enum ModelType: String, Sendable, CaseIterable {
        case llama, qwen2, mistral
    }

    /// RoPE frequency scaling (`rope_scaling` / `rope_parameters`).
    public enum RopeScaling: Sendable, Equatable {
        case none
        /// Positions divided by `factor`.
        case linear(factor: Double)
        /// Llama 3.1's frequency-dependent scaling.
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContext: Double)
    }

    public var modelType: ModelType
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var rmsNormEpsilon: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Biases on the q, k and v projections (Qwen2 always; Llama with `attention_bias`).
    public var attentionBias: Bool
    /// Bias on the output projection (Llama's `attention_bias` covers o_proj too).
    public var outputBias: Bool
    public var mlpBias: Bool
    /// Mistral: each token attends to at most this many previous tokens.
    public var slidingWindow: Int?

    /// Reads and validates `config.json`, refusing by name what the runtime does not implement.
    public init(json: JSONValue, path: String) throws {
        // config.json is transformers' format: unknown keys are normal there, but a
        // known key of the wrong type is refused rather than read as its default.
        let fields = try JSONFields(json, path: path, what: "config.json")
        func bad(_ message: String, _ key: String) -> FormatError { fields.error(key, message, code: .unsupported) }
        func required(_ key: String, in range: ClosedRange<Int> = 1...Self.maximumDimension) throws -> Int {
            guard let v = try fields.int(key, in: range) else { throw fields.error(key, "needs a positive integer") }
            return v
        }
        guard let type = try fields.string("model_type") else {
            throw fields.error("model_type", "model_type is missing")
        }
        guard let modelType = ModelType(rawValue: type) else {
            throw bad("model_type \"\(type)\" is not supported (llama, qwen2, mistral)", "model_type")
        }
        self.modelType = modelType
        vocabSize = try required("vocab_size")
        hiddenSize = try required("hidden_size")
        intermediateSize = try required("intermediate_size")
        layerCount = try required("num_hidden_layers", in: 1...Self.maximumLayers)
        headCount = try required("num_attention_heads")
        keyValueHeadCount = try fields.int("num_key_value_heads", in: 1...Self.maximumDimension) ?? headCount
        headDimension = try fields.int("head_dim", in: 1...Self.maximumDimension) ?? hiddenSize / headCount
        guard headCount % keyValueHeadCount == 0 else {
            throw fields.error(
                "num_key_value_heads",
                "num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(keyValueHeadCount)")
        }
        guard headDimension > 0, headDimension % 2 == 0 else {
            throw fields.error("head_dim", "head dimension must be even")
        }
        rmsNormEpsilon = try fields.positiveDouble("rms_norm_eps") ?? 1e-6
        maxPositionEmbeddings = try fields.int("max_position_embeddings", in: 1...Self.maximumDimension) ?? 4096
        tieWordEmbeddings = try fields.bool("tie_word_embeddings") ?? false
        let act = try fields.string("hidden_act") ?? "silu"
        guard act == "silu" else { throw bad("hidden_act \"\(act)\" is not supported (silu)", "hidden_act") }
        switch modelType {
        case .qwen2:
            attentionBias = true
            outputBias = false
            mlpBias = false
        case .llama:
            attentionBias = try fields.bool("attention_bias") ?? false
            outputBias = attentionBias
            mlpBias = try fields.bool("mlp_bias") ?? false
        case .mistral:
            attentionBias = false
            outputBias = false
            mlpBias = false
        }
        if modelType == .qwen2, try fields.bool("use_sliding_window") == true {
            throw bad("Qwen2 use_sliding_window is not supported", "use_sliding_window")
        }
        slidingWindow = modelType == .mistral ? try fields.int("sliding_window", in: 1...Int.max) : nil

        // transformers 5 keeps RoPE settings in rope_parameters; older files in rope_theta / rope_scaling.
        let rope = try fields.object("rope_parameters") ?? fields.object("rope_scaling")
        ropeTheta = try rope?.positiveDouble("rope_theta") ?? fields.positiveDouble("rope_theta") ?? 10_000
        let ropeType = try rope?.string("rope_type") ?? rope?.string("type") ?? "default"
        switch ropeType {
        case "default":
            ropeScaling = .none
        case "linear":
            guard let f = try rope?.positiveDouble("factor") else {
                throw bad("linear rope scaling needs a factor", "rope_scaling")
            }
            ropeScaling = .linear(factor: f)
        case "llama3":
            guard let rope, let f = try rope.positiveDouble("factor"),
                let lo = try rope.positiveDouble("low_freq_factor"),
                let hi = try rope.positiveDouble("high_freq_factor"),
                let ctx = try rope.positiveDouble("original_max_position_embeddings"),
                hi > lo
            else {
                throw bad(
                    "llama3 rope scaling needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings",
                    "rope_scaling")
            }
            ropeScaling = .llama3(factor: f, lowFrequencyFactor: lo, highFrequencyFactor: hi, originalContext: ctx)
        default:
            throw bad("rope type \"\(ropeType)\" is not supported (default, linear, llama3)", "rope_scaling")
        }
        guard headCount * headDimension <= Self.maximumDimension,
            keyValueHeadCount * headDimension <= Self.maximumDimension
        else {
            throw fields.error("head_dim", "heads × head_dim exceeds \(Self.maximumDimension)")
        }
        // The rotary tables are computed in Float, as transformers does: a tiny theta or factor
        // (1e-300 is positive) would make them infinite, and every state NaN.
        let largest = Float(maxPositionEmbeddings)
        guard inverseFrequencies.allSatisfy({ Float($0).isFinite && (largest * Float($0)).isFinite }) else {
            throw fields.error(
                "rope_theta", "rope_theta \(ropeTheta) with this rope scaling gives non-finite rotary frequencies")
        }
    }

    /// The largest size a config may declare for any one dimension (vocabulary,
    /// widths, context); larger values are refused before anything is allocated.
    public static let maximumDimension = 1 << 24
    /// The largest layer count a config may declare.
    public static let maximumLayers = 1024

    /// Loads `config.json` from a model directory.
    public init(directory: String) throws {
        let path = FileSystem.join(directory, "config.json")
        guard FileSystem.isRegularFile(path) else {
            throw FormatError(.notRecognized, "not a model directory: config.json is missing", path: directory)
        }
        try self.init(json: try FileSystem.readJSON(path, limit: 16 << 20), path: path)
    }

    /// The number of weights the config describes (embeddings, every block, the head unless tied).
    public var parameterCount: Int {
        let projections = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
            .compactMap(projectionShape).reduce(0) { $0 + $1.out * $1.in }
        let block = projections + 2 * hiddenSize
        return vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2) + layerCount * block + hiddenSize
    }

    /// Output widths of the seven projections LoRA targets, by name.
    public func projectionShape(_ name: String) -> (out: Int, in: Int)? {
        let q = headCount * headDimension
        let kv = keyValueHeadCount * headDimension
        switch name {
        case "q_proj": return (q, hiddenSize)
        case "k_proj", "v_proj": return (kv, hiddenSize)
        case "o_proj": return (hiddenSize, q)
        case "gate_proj", "up_proj": return (intermediateSize, hiddenSize)
        case "down_proj": return (hiddenSize, intermediateSize)
        default: return nil
        }
    }

    /// RoPE cos/sin tables for positions `0..<positions`, positions × (headDimension / 2):
    /// transformers multiplies in float32, then takes cos/sin in float32.
    public func ropeTables(positions: Int) -> (cos: [Float], sin: [Float]) {
        let half = headDimension / 2
        let inv = inverseFrequencies.map(Float.init)
        var cos = [Float](repeating: 0, count: positions * half)
        var sin = cos
        for t in 0..<positions {
            for i in 0..<half {
                let angle = Float(t) * inv[i]
                cos[t * half + i] = Foundation.cos(angle)
                sin[t * half + i] = Foundation.sin(angle)
            }
        }
        return (cos, sin)
    }

    /// RoPE inverse frequencies (one per pair of dimensions), with scaling applied,
    /// computed as transformers does (float32 powers of the base).
    public var inverseFrequencies: [Double] {
        let d = headDimension
        var inv = (0..<(d / 2)).map { i -> Double in
            Double(Float(1) / powf(Float(ropeTheta), Float(2 * i) / Float(d)))
        }
        switch ropeScaling {
        case .none:
            break
        case .linear(let factor):
            inv = inv.map { $0 / factor }
        case let .llama3(factor, low, high, context):
            let lowWavelength = context / low
            let highWavelength = context / high
            inv = inv.map { f in
                let wavelength = 2 * Double.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (context / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
        return inv
    }
}
