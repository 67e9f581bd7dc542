/// How llama.cpp lays out a Llama-family model's projections: its tensor
/// names, and the row order its converter gives q and k.
///
/// `convert_hf_to_gguf.py` (and `convert_lora_to_gguf.py`, on LoRA B) reorders
/// the rows of q (by `head_count` heads) and k (by `head_count_kv` heads) for
/// the `llama` architecture, so that each head's two rotary halves interleave;
/// `qwen2` files keep transformers' order.
public struct LlamaCppLayout: Sendable, Equatable {
    /// `general.architecture`: `llama` (Llama, Mistral, SmolLM) or `qwen2`.
    public let architecture: String
    public let headCount: Int
    public let keyValueHeadCount: Int

    public init(architecture: String, headCount: Int, keyValueHeadCount: Int) {
        self.architecture = architecture
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
    }

    /// The architectures whose layout this knows.
    public static let architectures = ["llama", "qwen2"]

    /// llama.cpp's names of transformers' seven projections.
    public static let tensorNames: [String: String] = [
        "q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
        "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down",
    ]

    /// For each row of a q or k projection in transformers' order, the row
    /// llama.cpp's converter stored it at: within each head, row `half · d/2 + j`
    /// (rotary half `half`, pair `j`) went to `2j + half`.
    public static func rotaryOrder(heads: Int, headDimension d: Int) -> [Int] {
        var order = [Int](repeating: 0, count: heads * d)
        for head in 0..<heads {
            for half in 0..<2 {
                for j in 0..<(d / 2) { order[head * d + half * (d / 2) + j] = head * d + 2 * j + half }
            }
        }
        return order
    }

    /// The stored row order of projection `name` with `rows` output rows, or
    /// `nil` when llama.cpp keeps transformers' order.
    public func rowOrder(of name: String, rows: Int) -> [Int]? {
        guard architecture == "llama" else { return nil }
        let heads = name == "q_proj" ? headCount : name == "k_proj" ? keyValueHeadCount : 0
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else { return nil }
        return LlamaCppLayout.rotaryOrder(heads: heads, headDimension: rows / heads)
    }
}
