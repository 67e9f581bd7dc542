import Tensors
import Foundation
import TestSupport
import XCTest
@testable import Transformer

/// The forward pass runs attention in blocks of query rows, each against only
/// the keys its rows may see (`TransformerModel.attentionBlock`). The transformers
/// fixtures are shorter than one block, so these tests check sequences that
/// span several blocks, with padding and with a sliding window, against
/// teacher-forced decoding: one row at a time through `step`, whose attention
/// is a plain loop over the KV cache and shares no code with the blocked one;
/// in the padded and the packed layout of ``TokenBatch``.
final class AttentionBlockTests: XCTestCase {
    /// Every position's logits by decoding `ids` one token at a time.
    func decodedLogits(_ model: TransformerModel, _ ids: [Int]) throws -> [[Float]] {
        let cache = KVCache(layers: model.config.layerCount)
        let widen = WeightWidening(model.weights, parallel: true)
        defer { widen.free() }
        return try ids.indices.map {
            try model.step(tokens: [ids[$0]], positions: [$0], caches: [cache], adapters: .empty, widen: widen)
        }
    }

    /// Asserts that a batched forward pass gives, for each sequence's real
    /// positions, the logits decoding gives (within 1e-4 of the largest logit).
    func assertForwardMatchesDecoding(
        _ model: TransformerModel, _ sequences: [[Int]], file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let block = TransformerModel.attentionBlock
        XCTAssertGreaterThan(
            sequences.map(\.count).max() ?? 0, 2 * block, "the case must span several blocks", file: file, line: line)
        let expected = try sequences.map { try decodedLogits(model, $0) }
        let v = model.config.vocabSize
        // Both layouts, on one part and on two (parts split by rows: unequal sequence counts when packed).
        for (layout, batch) in [("padded", TokenBatch(sequences)), ("packed", TokenBatch(packing: sequences))] {
            for threads in [1, 2] {
                model.threadCount = threads
                let out = try model.forward(batch)
                XCTAssertEqual(out.logits.count, batch.rows * v, file: file, line: line)
                for (s, ids) in sequences.enumerated() {
                    let scale = expected[s].flatMap { $0 }.map(abs).max() ?? 1
                    var worst: Float = 0
                    for (i, row) in expected[s].enumerated() {
                        let start = batch.row(s, i) * v
                        for j in 0..<v { worst = max(worst, abs(out.logits[start + j] - row[j])) }
                    }
                    XCTAssertLessThanOrEqual(
                        worst / scale, 1e-4, "\(layout), \(threads) thread(s): sequence \(s) (\(ids.count) tokens)",
                        file: file, line: line)
                }
            }
        }
    }

    /// Token ids drawn from a seeded generator, so that a failure reproduces.
    func ids(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Int.random(in: 0..<vocabulary, using: &generator) }
    }

    func testBlocksAcrossLengthsAndPaddingAgreeWithDecoding() throws {
        let model = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        let v = model.config.vocabSize
        let block = TransformerModel.attentionBlock
        // Lengths on, before and after block boundaries; all but the longest are right-padded.
        let lengths = [2 * block + 13, block, block + 1, 5, 2 * block]
        try assertForwardMatchesDecoding(
            model, lengths.enumerated().map { ids($1, vocabulary: v, seed: UInt64($0 + 1)) })
    }

    func testSlidingWindowBlocksAgreeWithDecoding() throws {
        // The Mistral fixture with a window shorter than a block: blocks then start past key 0.
        let dir = try Fixtures.scratchDirectory()
        let source = Fixtures.path("runtime/mistral")
        let config = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"sliding_window\": null"))
        try config.replacingOccurrences(of: "\"sliding_window\": null", with: "\"sliding_window\": 20")
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: source + "/model.safetensors", toPath: dir + "/model.safetensors")
        let model = try TransformerModel(directory: dir)
        XCTAssertEqual(model.config.slidingWindow, 20)
        let v = model.config.vocabSize
        let block = TransformerModel.attentionBlock
        try assertForwardMatchesDecoding(
            model, [ids(3 * block + 7, vocabulary: v, seed: 7), ids(block + 3, vocabulary: v, seed: 8)])
    }
}
