import AdapterFormat

extension ModelWeights {
    /// Maps a GGUF model's tensors (llama.cpp's names) as stored, quantized or
    /// not; blocks are dequantized when a pass reads them.
    ///
    /// llama.cpp's converter reorders the rows of q and k (and their biases)
    /// in Llama-architecture files, each head's two rotary halves interleaved;
    /// the rows are read back in transformers' order. Qwen2 files are not
    /// reordered.
    public init(gguf file: GGUFFile, config: ModelConfig, residency: WeightResidency = .auto) throws {
        func tensor(_ name: String, rows: Int, columns: Int) throws -> GGUFTensorInfo {
            guard let t = file.tensor(name) else {
                throw FormatError(.malformed, "tensor \(name) is missing", path: file.path)
            }
            guard t.rows == rows, t.columns == columns, t.dimensions.count <= 2 else {
                throw FormatError(
                    .malformed, "tensor has dimensions \(t.dimensions), the model implies [\(columns), \(rows)]",
                    path: file.path, location: name)
            }
            return t
        }
        func matrix(_ name: String, _ rows: Int, _ columns: Int, order: [Int]? = nil) throws -> StoredMatrix {
            try StoredMatrix(file, try tensor(name, rows: rows, columns: columns), rowOrder: order)
        }
        func vector(_ name: String, _ count: Int, order: [Int]? = nil) throws -> [Float] {
            let stored = try file.floats(of: try tensor(name, rows: 1, columns: count))
            return order.map { $0.map { stored[$0] } } ?? stored
        }
        let c = config
        let h = c.hiddenSize
        let d = c.headDimension
        let permuted = c.modelType != .qwen2
        let qOrder = permuted ? ModelWeights.llamaCppRotaryOrder(heads: c.headCount, headDimension: d) : nil
        let kOrder = permuted ? ModelWeights.llamaCppRotaryOrder(heads: c.keyValueHeadCount, headDimension: d) : nil
        let embedding = try matrix("token_embd.weight", c.vocabSize, h)
        var blocks: [BlockWeights] = []
        for l in 0..<c.layerCount {
            let p = "blk.\(l)."
            // llama.cpp's name of each projection, and the row order it was stored in.
            let names: [String: (gguf: String, order: [Int]?)] = [
                "q_proj": ("attn_q", qOrder), "k_proj": ("attn_k", kOrder), "v_proj": ("attn_v", nil),
                "o_proj": ("attn_output", nil), "gate_proj": ("ffn_gate", nil), "up_proj": ("ffn_up", nil),
                "down_proj": ("ffn_down", nil),
            ]
            let groups = try ProjectionGroup.allCases.map { group in
                try GroupWeights(stacking: group, config: c) { member, out, inn in
                    let n = names[member] ?? (member, nil)
                    return (
                        try matrix(p + n.gguf + ".weight", out, inn, order: n.order),
                        { try vector(p + n.gguf + ".bias", out, order: n.order) }
                    )
                }
            }
            blocks.append(
                BlockWeights(
                    inputNorm: try vector(p + "attn_norm.weight", h),
                    postAttentionNorm: try vector(p + "ffn_norm.weight", h),
                    groups: groups))
        }
        self.init(
            embedding: embedding, blocks: blocks, finalNorm: try vector("output_norm.weight", h),
            head: c.tieWordEmbeddings ? embedding : try matrix("output.weight", c.vocabSize, h),
            tied: c.tieWordEmbeddings, residency: residency)
    }

    /// For each row of a q or k projection in transformers' order, the row
    /// llama.cpp's converter stored it at: within each head, row `half · d/2 + j`
    /// (rotary half `half`, pair `j`) went to `2j + half`.
    static func llamaCppRotaryOrder(heads: Int, headDimension d: Int) -> [Int] {
        var order = [Int](repeating: 0, count: heads * d)
        for head in 0..<heads {
            for half in 0..<2 {
                for j in 0..<(d / 2) { order[head * d + half * (d / 2) + j] = head * d + 2 * j + half }
            }
        }
        return order
    }
}
