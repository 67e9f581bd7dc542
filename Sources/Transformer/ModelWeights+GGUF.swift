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
        let layout = LlamaCppLayout(
            architecture: c.modelType == .qwen2 ? "qwen2" : "llama", headCount: c.headCount,
            keyValueHeadCount: c.keyValueHeadCount)
        let embedding = try matrix("token_embd.weight", c.vocabSize, h)
        var blocks: [BlockWeights] = []
        for l in 0..<c.layerCount {
            let p = "blk.\(l)."
            let groups = try ProjectionGroup.allCases.map { group in
                try GroupWeights(stacking: group, config: c) { member, out, inn in
                    let name = p + (LlamaCppLayout.tensorNames[member] ?? member)
                    let order = layout.rowOrder(of: member, rows: out)
                    return (
                        try matrix(name + ".weight", out, inn, order: order),
                        { try vector(name + ".bias", out, order: order) }
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
}
