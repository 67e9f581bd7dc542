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
        func bad(_ message: String, _ key: String) -> FormatError { FormatError(.unsupported, message, path: path, location: key) }
        func int(_ key: String) throws -> Int {
            guard let v = json[key]?.intValue, v > 0 else { throw FormatError(.malformed, "needs a positive integer", path: path, location: key) }
            return v
        }
        guard let type = json["model_type"]?.stringValue else { throw FormatError(.malformed, "model_type is missing", path: path, location: "model_type") }
        guard let modelType = ModelType(rawValue: type) else {
            throw bad("model_type \"\(type)\" is not supported (llama, qwen2, mistral)", "model_type")
        }
        self.modelType = modelType
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        keyValueHeadCount = json["num_key_value_heads"]?.intValue ?? headCount
        headDimension = json["head_dim"]?.intValue ?? hiddenSize / headCount
        guard keyValueHeadCount > 0, headCount % keyValueHeadCount == 0 else {
            throw FormatError(.malformed, "num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(keyValueHeadCount)", path: path, location: "num_key_value_heads")
        }
        guard headDimension > 0, headDimension % 2 == 0 else { throw FormatError(.malformed, "head dimension must be even", path: path, location: "head_dim") }
        rmsNormEpsilon = json["rms_norm_eps"]?.doubleValue ?? 1e-6
        maxPositionEmbeddings = json["max_position_embeddings"]?.intValue ?? 4096
        tieWordEmbeddings = json["tie_word_embeddings"]?.boolValue ?? false
        let act = json["hidden_act"]?.stringValue ?? "silu"
        guard act == "silu" else { throw bad("hidden_act \"\(act)\" is not supported (silu)", "hidden_act") }
        switch modelType {
        case .qwen2:
            attentionBias = true
            outputBias = false
            mlpBias = false
        case .llama:
            attentionBias = json["attention_bias"]?.boolValue ?? false
            outputBias = attentionBias
            mlpBias = json["mlp_bias"]?.boolValue ?? false
        case .mistral:
            attentionBias = false
            outputBias = false
            mlpBias = false
        }
        if modelType == .qwen2, json["use_sliding_window"]?.boolValue == true {
            throw bad("Qwen2 use_sliding_window is not supported", "use_sliding_window")
        }
        slidingWindow = modelType == .mistral ? json["sliding_window"]?.intValue : nil

        // transformers 5 keeps RoPE settings in rope_parameters; older files in rope_theta / rope_scaling.
        let rope = json["rope_parameters"].flatMap { $0.isNull ? nil : $0 } ?? json["rope_scaling"].flatMap { $0.isNull ? nil : $0 }
        ropeTheta = rope?["rope_theta"]?.doubleValue ?? json["rope_theta"]?.doubleValue ?? 10_000
        let ropeType = rope?["rope_type"]?.stringValue ?? rope?["type"]?.stringValue ?? "default"
        switch ropeType {
        case "default":
            ropeScaling = .none
        case "linear":
            guard let f = rope?["factor"]?.doubleValue, f > 0 else { throw bad("linear rope scaling needs a factor", "rope_scaling") }
            ropeScaling = .linear(factor: f)
        case "llama3":
            guard let f = rope?["factor"]?.doubleValue, let lo = rope?["low_freq_factor"]?.doubleValue,
                  let hi = rope?["high_freq_factor"]?.doubleValue, let ctx = rope?["original_max_position_embeddings"]?.doubleValue,
                  f > 0, hi > lo else {
                throw bad("llama3 rope scaling needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings", "rope_scaling")
            }
            ropeScaling = .llama3(factor: f, lowFrequencyFactor: lo, highFrequencyFactor: hi, originalContext: ctx)
        default:
            throw bad("rope type \"\(ropeType)\" is not supported (default, linear, llama3)", "rope_scaling")
        }
    }

    /// Loads `config.json` from a model directory.
    public init(directory: String) throws {
        let path = FileSystem.join(directory, "config.json")
        guard FileSystem.isRegularFile(path) else { throw FormatError(.notRecognized, "not a model directory: config.json is missing", path: directory) }
        try self.init(json: try FileSystem.readJSON(path, limit: 16 << 20), path: path)
    }

    /// Output widths of the seven projections LoRA targets, by name.
    public func projectionShape(_ name: String) -> (out: Int, in: Int)? {
        let q = headCount * headDimension, kv = keyValueHeadCount * headDimension
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
        var cos = [Float](repeating: 0, count: positions * half), sin = cos
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
            let lowWavelength = context / low, highWavelength = context / high
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
