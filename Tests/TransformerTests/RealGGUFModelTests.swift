import XCTest
import AdapterFormat
import TestSupport
@testable import Transformer

/// The real SmolLM2-135M-Instruct GGUF (Q4_1, Q8_0 embedding, tied head)
/// against transformers, which loads the same file with
/// `from_pretrained(dir, gguf_file=…)` and dequantizes it with the gguf package
/// (Tests/Fixtures/gguf-models/smollm2.json, made by make_gguf_model_fixtures.py).
/// Skipped when scripts/get-real-model.sh has not fetched the file.
final class RealGGUFModelTests: XCTestCase {
    static let expected = Result { try Fixtures.json("gguf-models/smollm2.json") }
    static let model = Result { () throws -> TransformerModel in
        guard let path = Fixtures.realModel else { throw XCTSkip(Fixtures.realModelMissing) }
        return try TransformerModel(path: path)
    }

    func model() throws -> TransformerModel {
        guard Fixtures.realModel != nil else { throw XCTSkip(Fixtures.realModelMissing) }
        return try Self.model.get()
    }

    func testHyperparametersAreThoseTransformersReads() throws {
        let c = try model().config
        let e = try XCTUnwrap(Self.expected.get()["config"])
        XCTAssertEqual(c.modelType, .llama)
        XCTAssertEqual(c.hiddenSize, e["hidden_size"]?.intValue)
        XCTAssertEqual(c.intermediateSize, e["intermediate_size"]?.intValue)
        XCTAssertEqual(c.layerCount, e["num_hidden_layers"]?.intValue)
        XCTAssertEqual(c.headCount, e["num_attention_heads"]?.intValue)
        XCTAssertEqual(c.keyValueHeadCount, e["num_key_value_heads"]?.intValue)
        XCTAssertEqual(c.headDimension, e["head_dim"]?.intValue)
        XCTAssertEqual(c.vocabSize, e["vocab_size"]?.intValue)
        XCTAssertEqual(c.maxPositionEmbeddings, e["max_position_embeddings"]?.intValue)
        XCTAssertEqual(c.tieWordEmbeddings, e["tie_word_embeddings"]?.boolValue)
        XCTAssertEqual(c.ropeTheta, try XCTUnwrap(e["rope_theta"]?.doubleValue))
        XCTAssertEqual(Float(c.rmsNormEpsilon), Float(try XCTUnwrap(e["rms_norm_eps_exact"]?.doubleValue)))
    }

    /// Ids as llama.cpp gives them (the file's `tokenizer.ggml.pre` is smollm:
    /// digits split one by one), which equal transformers' wherever the two agree.
    func testTokenIdsMatchLlamaCppAndTransformers() throws {
        guard let path = Fixtures.realModel else { throw XCTSkip(Fixtures.realModelMissing) }
        let tokenizer = try Tokenizer(model: path)
        let cases = try XCTUnwrap(Self.expected.get()["tokenizer"]?["cases"]?.arrayValue)
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        var agreed = 0
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            let text = try XCTUnwrap(c["text"]?.stringValue)
            func ids(_ key: String) throws -> [Int] { try XCTUnwrap(c[key]?.arrayValue).compactMap(\.intValue) }
            let ours = try tokenizer.encode(text, addSpecialTokens: true)
            XCTAssertEqual(ours, try ids("llama_cpp_add_special_true"), name)
            XCTAssertEqual(
                try tokenizer.encode(text, addSpecialTokens: false), try ids("llama_cpp_add_special_false"), name)
            if c["agree"]?.boolValue == true {
                XCTAssertEqual(ours, try ids("transformers_add_special_true"), name)
                agreed += 1
            }
        }
        XCTAssertGreaterThanOrEqual(agreed, cases.count - 2)
    }

    /// Logits at 48 fixed vocabulary entries, the top 5, and hidden states at 32
    /// fixed dimensions of six layers (with each position's norm), within 1e-4
    /// relative to the largest magnitude of each compared row.
    func testLogitsAndHiddenStatesMatchTransformers() throws {
        for residency in [WeightResidency.widened, .stored] {
            guard let path = Fixtures.realModel else { throw XCTSkip(Fixtures.realModelMissing) }
            let m = residency == .widened ? try model() : try TransformerModel(path: path, residency: .stored)
            try checkSequences(m, "\(residency)")
        }
    }

    func checkSequences(_ m: TransformerModel, _ label: String) throws {
        let sequences = try XCTUnwrap(Self.expected.get()["sequences"])
        let indices = try XCTUnwrap(sequences["logit_indices"]?.arrayValue).compactMap(\.intValue)
        let dims = try XCTUnwrap(sequences["hidden_dims"]?.arrayValue).compactMap(\.intValue)
        let vocab = m.config.vocabSize
        let h = m.config.hiddenSize
        func close(_ ours: [Float], _ theirs: [Double], _ what: String) {
            let scale = max(theirs.map(abs).max() ?? 0, 1e-6)
            let error = zip(ours, theirs).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThan(error / scale, 1e-4, "\(label) \(what)")
        }
        for item in try XCTUnwrap(sequences["items"]?.arrayValue) {
            let ids = try XCTUnwrap(item["input_ids"]?.arrayValue).compactMap(\.intValue)
            let out = try m.forward(TokenBatch([ids]), hiddenStates: true)
            for (t, position) in try XCTUnwrap(item["positions"]?.arrayValue).enumerated() {
                let row = Array(out.logits[(t * vocab)..<((t + 1) * vocab)])
                let theirs = try XCTUnwrap(position["logits_at_indices"]?.arrayValue).compactMap(\.doubleValue)
                close(indices.map { row[$0] }, theirs, "logits at position \(t)")
                let top = try XCTUnwrap(position["top5"]?.arrayValue).compactMap(\.arrayValue)
                let topIDs = top.compactMap { $0.first?.intValue }
                let best = row.indices.max { row[$0] < row[$1] }
                XCTAssertEqual(best, topIDs.first, "\(label) argmax at position \(t)")
                close(topIDs.map { row[$0] }, top.compactMap { $0.last?.doubleValue }, "top 5 at \(t)")
            }
            for (layerKey, state) in try XCTUnwrap(item["hidden_states"]?.objectValue) {
                let layer = try XCTUnwrap(Int(layerKey))
                let ours = out.hiddenStates[layer]
                for (t, theirs) in try XCTUnwrap(state["at_dims"]?.arrayValue).enumerated() {
                    let values = try XCTUnwrap(theirs.arrayValue).compactMap(\.doubleValue)
                    close(dims.map { ours[t * h + $0] }, values, "hidden state \(layer) position \(t)")
                }
                let norms = try XCTUnwrap(state["l2_norm"]?.arrayValue).compactMap(\.doubleValue)
                for (t, norm) in norms.enumerated() {
                    let ourNorm = (0..<h).reduce(0.0) { $0 + Double(ours[t * h + $1]) * Double(ours[t * h + $1]) }
                        .squareRoot()
                    XCTAssertLessThan(abs(ourNorm - norm) / norm, 1e-4, "\(label) hidden state \(layer) norm at \(t)")
                }
            }
        }
    }
}
