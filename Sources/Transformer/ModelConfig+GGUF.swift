import AdapterFormat

extension ModelConfig {
    /// The architectures whose GGUF files the runtime reads (Mistral files declare `llama`).
    public static let ggufArchitectures = ["llama", "qwen2"]

    /// Reads the hyperparameters of a GGUF model from its `<arch>.*` keys, as
    /// llama.cpp does, refusing by name what the runtime does not implement.
    ///
    /// The vocabulary size is the embedding's row count; the head is tied when
    /// `output.weight` is absent. A `rope_freqs.weight` tensor (Llama 3.1's
    /// scaling, which llama.cpp's converter stores as precomputed factors) and
    /// any `rope.scaling.type` but `none`/`linear` are refused.
    public init(gguf file: GGUFFile) throws {
        func bad(_ key: String, _ message: String) -> FormatError {
            FormatError(.unsupported, message, path: file.path, location: key)
        }
        guard let arch = try file.string("general.architecture") else {
            throw FormatError(.malformed, "general.architecture is missing", path: file.path)
        }
        guard Self.ggufArchitectures.contains(arch) else {
            throw bad(
                "general.architecture",
                "architecture \"\(arch)\" is not supported (\(Self.ggufArchitectures.joined(separator: ", ")))")
        }
        if let type = try file.string("general.type"), type != "model" {
            throw bad("general.type", "the file is a GGUF \(type), not a model")
        }
        func required(_ key: String, in range: ClosedRange<Int> = 1...Self.maximumDimension) throws -> Int {
            guard let v = try file.integer("\(arch).\(key)") else {
                throw FormatError(.malformed, "\(arch).\(key) is missing", path: file.path)
            }
            guard range.contains(v) else { throw bad("\(arch).\(key)", "\(v) is outside \(range)") }
            return v
        }
        func optional(_ key: String) throws -> Int? {
            guard try file.integer("\(arch).\(key)") != nil else { return nil }
            return try required(key)
        }
        guard let embedding = file.tensor("token_embd.weight"), embedding.dimensions.count == 2 else {
            throw FormatError(.malformed, "token_embd.weight is missing or not a matrix", path: file.path)
        }
        modelType = arch == "qwen2" ? .qwen2 : .llama
        hiddenSize = try required("embedding_length")
        guard embedding.columns == hiddenSize, (1...Self.maximumDimension).contains(embedding.rows) else {
            throw FormatError(
                .malformed, "token_embd.weight is \(embedding.dimensions), the hidden size is \(hiddenSize)",
                path: file.path, location: "token_embd.weight")
        }
        vocabSize = embedding.rows
        intermediateSize = try required("feed_forward_length")
        layerCount = try required("block_count", in: 1...Self.maximumLayers)
        headCount = try required("attention.head_count")
        keyValueHeadCount = try optional("attention.head_count_kv") ?? headCount
        let dimension = try optional("attention.key_length") ?? hiddenSize / headCount
        headDimension = dimension
        let ropeDimension = try optional("rope.dimension_count") ?? dimension
        let valueDimension = try optional("attention.value_length") ?? dimension
        guard headCount % keyValueHeadCount == 0, dimension % 2 == 0, ropeDimension == dimension,
            valueDimension == dimension
        else {
            throw bad(
                "\(arch).attention.head_count_kv",
                "heads \(headCount)/\(keyValueHeadCount) of dimension \(headDimension) are not a grouped-query layout the runtime runs (full-width rotary, even head dimension)"
            )
        }
        guard headCount * headDimension <= Self.maximumDimension else {
            throw bad("\(arch).attention.head_count", "heads × head dimension exceeds \(Self.maximumDimension)")
        }
        let epsilon = try file.float("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5
        guard epsilon > 0, epsilon.isFinite else {
            throw bad("\(arch).attention.layer_norm_rms_epsilon", "must be positive")
        }
        rmsNormEpsilon = epsilon
        ropeTheta = try file.float("\(arch).rope.freq_base") ?? 10_000
        guard ropeTheta > 0, ropeTheta.isFinite else { throw bad("\(arch).rope.freq_base", "must be positive") }
        maxPositionEmbeddings = try optional("context_length") ?? 4096
        tieWordEmbeddings = file.tensor("output.weight") == nil
        attentionBias = file.tensor("blk.0.attn_q.bias") != nil
        outputBias = file.tensor("blk.0.attn_output.bias") != nil
        mlpBias = file.tensor("blk.0.ffn_up.bias") != nil
        slidingWindow = nil
        if file.tensor("rope_freqs.weight") != nil {
            throw bad("rope_freqs.weight", "rope frequency factors (Llama 3.1 rope scaling) are not supported")
        }
        switch try file.string("\(arch).rope.scaling.type") ?? "none" {
        case "none":
            ropeScaling = .none
        case "linear":
            guard let factor = try file.float("\(arch).rope.scaling.factor"), factor > 0, factor.isFinite else {
                throw bad("\(arch).rope.scaling.factor", "linear rope scaling needs a positive factor")
            }
            ropeScaling = .linear(factor: factor)
        case let other:
            throw bad("\(arch).rope.scaling.type", "rope scaling \"\(other)\" is not supported (none, linear)")
        }
        let largest = Float(maxPositionEmbeddings)
        guard inverseFrequencies.allSatisfy({ Float($0).isFinite && (largest * Float($0)).isFinite }) else {
            throw bad("\(arch).rope.freq_base", "rope base \(ropeTheta) gives non-finite rotary frequencies")
        }
    }
}
