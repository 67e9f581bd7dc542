import XCTest
import AdapterFormat
import TestSupport
@testable import Transformer

/// Tiny random Llama (byte-level BPE, tied), Qwen2 (q/k/v biases) and Llama
/// with a SentencePiece tokenizer (untied), converted by llama.cpp's own
/// convert_hf_to_gguf.py to f32, f16 and Q8_0, against transformers loading the
/// same files (Tests/Fixtures/gguf-models, made by make_tiny_gguf_models.py):
/// full logits and every hidden state within 1e-4, and llama.cpp's token ids.
final class TinyGGUFModelTests: XCTestCase {
    static let models = ["tiny-llama-bpe", "tiny-qwen2", "tiny-llama-spm"]

    func forEachVariant(_ body: (String, String, JSONValue) throws -> Void) throws {
        var seen = 0
        for name in Self.models {
            let expected = try Fixtures.json("gguf-models/\(name).json")
            for (variant, info) in try XCTUnwrap(expected["variants"]?.objectValue) {
                let file = try XCTUnwrap(info["file"]?.stringValue)
                try body("\(name) \(variant)", Fixtures.path("gguf-models/\(file)"), info)
                seen += 1
            }
        }
        XCTAssertEqual(seen, 6)
    }

    func testHyperparametersAreThoseTransformersReads() throws {
        try forEachVariant { label, path, info in
            let c = try ModelConfig(path: path)
            let e = try XCTUnwrap(info["config"])
            XCTAssertEqual(c.modelType.rawValue, e["model_type"]?.stringValue, label)
            XCTAssertEqual(c.hiddenSize, e["hidden_size"]?.intValue, label)
            XCTAssertEqual(c.intermediateSize, e["intermediate_size"]?.intValue, label)
            XCTAssertEqual(c.layerCount, e["num_hidden_layers"]?.intValue, label)
            XCTAssertEqual(c.headCount, e["num_attention_heads"]?.intValue, label)
            XCTAssertEqual(c.keyValueHeadCount, e["num_key_value_heads"]?.intValue, label)
            XCTAssertEqual(c.headDimension, e["head_dim"]?.intValue, label)
            XCTAssertEqual(c.vocabSize, e["vocab_size"]?.intValue, label)
            XCTAssertEqual(c.tieWordEmbeddings, e["tie_word_embeddings"]?.boolValue, label)
            XCTAssertEqual(c.attentionBias, e["qkv_bias"]?.boolValue ?? false, label)
            XCTAssertEqual(c.ropeTheta, try XCTUnwrap(e["rope_theta"]?.doubleValue), label)
        }
    }

    /// llama.cpp's ids (the file's declaration); transformers' where they agree.
    func testTokenIdsMatchLlamaCpp() throws {
        try forEachVariant { label, path, info in
            let tokenizer = try Tokenizer(model: path)
            for c in try XCTUnwrap(info["tokenizer"]?["cases"]?.arrayValue) {
                let text = try XCTUnwrap(c["text"]?.stringValue)
                let name = "\(label) \(c["name"]?.stringValue ?? "?")"
                func ids(_ key: String) throws -> [Int] { try XCTUnwrap(c[key]?.arrayValue).compactMap(\.intValue) }
                let ours = try tokenizer.encode(text, addSpecialTokens: true)
                XCTAssertEqual(ours, try ids("llama_cpp_add_special_true"), name)
                XCTAssertEqual(
                    try tokenizer.encode(text, addSpecialTokens: false), try ids("llama_cpp_add_special_false"), name)
                if c["agree"]?.boolValue == true {
                    XCTAssertEqual(ours, try ids("transformers_add_special_true"), name)
                }
            }
        }
    }

    func testLogitsAndHiddenStatesMatchTransformers() throws {
        try forEachVariant { label, path, info in
            for residency in [WeightResidency.widened, .stored] {
                let m = try TransformerModel(path: path, residency: residency)
                for (s, sequence) in try XCTUnwrap(info["sequences"]?.arrayValue).enumerated() {
                    let ids = try XCTUnwrap(sequence["input_ids"]?.arrayValue).compactMap(\.intValue)
                    let out = try m.forward(TokenBatch([ids]), hiddenStates: true)
                    let what = "\(label) \(residency) sequence \(s)"
                    try check(out.logits, sequence["logits"], what + " logits")
                    let states = try XCTUnwrap(sequence["hidden_states"]?.arrayValue)
                    XCTAssertEqual(states.count, out.hiddenStates.count, what)
                    for (l, state) in states.enumerated() {
                        try check(out.hiddenStates[l], state, what + " hidden state \(l)")
                    }
                }
            }
        }
    }

    /// Rows of `expected` against `ours` (row-major), within 1e-4 of the largest |value|.
    func check(_ ours: [Float], _ expected: JSONValue?, _ what: String) throws {
        let theirs = try XCTUnwrap(expected?.arrayValue).flatMap { $0.arrayValue?.compactMap(\.doubleValue) ?? [] }
        XCTAssertEqual(ours.count, theirs.count, what)
        let scale = max(theirs.map(abs).max() ?? 0, 1e-6)
        let error = zip(ours, theirs).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThan(error / scale, 1e-4, what)
    }
}
