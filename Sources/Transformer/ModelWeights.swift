import AdapterFormat
import Tensors

/// A dense weight as row-major `Float` (out × in for projections).
public struct Weight: Sendable {
    public let rows: Int
    public let columns: Int
    public let values: [Float]
}

/// The stacked weights of one ``ProjectionGroup``: the members' rows one
/// after another, so row range `offset..<offset + out` is one projection.
public struct GroupWeights: Sendable {
    public let weight: Weight
    /// One bias over all rows (zero for members without one), or `nil` when
    /// no member has a bias.
    public let bias: [Float]?
}

/// The weights of one decoder block.
public struct BlockWeights: Sendable {
    public let inputNorm: [Float]
    public let postAttentionNorm: [Float]
    /// Indexed by ``ProjectionGroup/rawValue``: q‖k‖v, o, gate‖up, down.
    public let groups: [GroupWeights]

    public subscript(group: ProjectionGroup) -> GroupWeights { groups[group.rawValue] }
}

/// All weights of a checkpoint, widened to `Float`.
public struct ModelWeights: Sendable {
    public let embedding: Weight
    public let blocks: [BlockWeights]
    public let finalNorm: [Float]
    /// The output head; the embedding when tied.
    public let head: Weight

    public static let projectionNames = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    /// Loads `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    public init(directory: String, config: ModelConfig) throws {
        let files = try ModelWeights.shardFiles(directory)
        var index: [String: SafeTensorsFile] = [:]
        for file in files {
            for e in file.entries { index[e.name] = file }
        }
        func load(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let file = index[name], let entry = file.entry(name) else {
                throw FormatError(.malformed, "weight \(name) is missing", path: directory)
            }
            guard entry.shape == shape else {
                throw FormatError(
                    .malformed, "weight has shape \(entry.shape), the config implies \(shape)", path: file.path,
                    location: name)
            }
            guard entry.dtype.isConvertibleFloat else {
                throw FormatError(
                    .unsupported, "weight dtype \(entry.dtype.rawValue) is not supported (f32, f16, bf16)",
                    path: file.path, location: name)
            }
            return try file.tensor(entry).floats()
        }
        func weight(_ name: String, _ rows: Int, _ columns: Int) throws -> Weight {
            Weight(rows: rows, columns: columns, values: try load(name, [rows, columns]))
        }
        let h = config.hiddenSize
        embedding = try weight("model.embed_tokens.weight", config.vocabSize, h)
        var blocks: [BlockWeights] = []
        for l in 0..<config.layerCount {
            let prefix = "model.layers.\(l)."
            var groups: [GroupWeights] = []
            for group in ProjectionGroup.allCases {
                var values: [Float] = []
                var bias: [Float] = []
                var hasAnyBias = false
                var rows = 0
                var columns = 0
                for name in group.members {
                    let (out, inn) = config.projectionShape(name)!
                    let module = group == .gateUp || group == .down ? "mlp." : "self_attn."
                    values += try load(prefix + module + name + ".weight", [out, inn])
                    let hasBias =
                        (group == .qkv && config.attentionBias) || (group == .o && config.outputBias)
                        || (module == "mlp." && config.mlpBias)
                    bias +=
                        hasBias ? try load(prefix + module + name + ".bias", [out]) : [Float](repeating: 0, count: out)
                    hasAnyBias = hasAnyBias || hasBias
                    rows += out
                    columns = inn
                }
                groups.append(
                    GroupWeights(
                        weight: Weight(rows: rows, columns: columns, values: values),
                        bias: hasAnyBias ? bias : nil))
            }
            blocks.append(
                BlockWeights(
                    inputNorm: try load(prefix + "input_layernorm.weight", [h]),
                    postAttentionNorm: try load(prefix + "post_attention_layernorm.weight", [h]),
                    groups: groups))
        }
        self.blocks = blocks
        finalNorm = try load("model.norm.weight", [h])
        if config.tieWordEmbeddings || index["lm_head.weight"] == nil {
            guard config.tieWordEmbeddings || index["lm_head.weight"] != nil else {
                throw FormatError(
                    .malformed, "lm_head.weight is missing and tie_word_embeddings is false", path: directory)
            }
            head = embedding
        } else {
            head = try weight("lm_head.weight", config.vocabSize, h)
        }
    }

    static func shardFiles(_ directory: String) throws -> [SafeTensorsFile] {
        let single = FileSystem.join(directory, "model.safetensors")
        if FileSystem.isRegularFile(single) { return [try SafeTensorsFile(path: single)] }
        let indexPath = FileSystem.join(directory, "model.safetensors.index.json")
        guard FileSystem.isRegularFile(indexPath) else {
            throw FormatError(.notRecognized, "no model.safetensors or model.safetensors.index.json", path: directory)
        }
        let json = try FileSystem.readJSON(indexPath)
        guard let map = json["weight_map"]?.objectValue else {
            throw FormatError(.malformed, "weight_map is missing", path: indexPath, location: "weight_map")
        }
        var names: [String] = []
        for (_, file) in map {
            guard let f = file.stringValue, !f.contains("/"), !f.hasPrefix(".") else {
                throw FormatError(
                    .malformed, "shard names must be plain file names", path: indexPath, location: "weight_map")
            }
            if !names.contains(f) { names.append(f) }
        }
        return try names.sorted().map { try SafeTensorsFile(path: FileSystem.join(directory, $0)) }
    }
}
