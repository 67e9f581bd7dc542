import Tensors
import TestSupport
import XCTest
@testable import Transformer

/// `Retrieval.pooledStates` runs packed batches: what it returns must not
/// depend on the batching. Each sequence's pooled states equal those of the
/// sequence run alone, in the order given.
final class RetrievalPackingTests: XCTestCase {
    func testPackedBatchesEqualEachSequenceAloneInTheGivenOrder() throws {
        let model = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        var generator = SeededGenerator(seed: 7)
        // Mixed lengths in no order, a repeated length, and one sequence longer than an attention block.
        let lengths = [9, 3, 41, 17, 3, 28, 1, 12]
        let sequences = lengths.map { n in
            (0..<n).map { _ in Int.random(in: 0..<model.config.vocabSize, using: &generator) }
        }
        for threads in [1, 2] {
            model.threadCount = threads
            let batched = try Retrieval.pooledStates(sequences, model: model, adapters: .empty, batchSize: 3)
            XCTAssertEqual(batched.count, model.config.layerCount + 1)
            for (s, ids) in sequences.enumerated() {
                let alone = try Retrieval.pooledStates([ids], model: model, adapters: .empty, batchSize: 1)
                for layer in batched.indices {
                    let ours = batched[layer][s]
                    let expected = alone[layer][0]
                    let scale = expected.map(abs).max() ?? 1
                    let worst = zip(ours, expected).map { abs($0 - $1) }.max() ?? .infinity
                    XCTAssertLessThanOrEqual(
                        worst / scale, 1e-5, "\(threads) thread(s): sequence \(s) (\(ids.count) tokens), layer \(layer)"
                    )
                }
            }
        }
    }

    func testEmptySequencesPoolToZerosWithoutShiftingTheOthers() throws {
        let model = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        // The last batch (size 2) holds only empty sequences, so its pass returns no states at all.
        let sequences = [[5, 9, 2], [], [7, 1], [4], [], []]
        for layer in [nil, 1] {
            let pooled = try Retrieval.pooledStates(
                sequences, model: model, adapters: .empty, batchSize: 2, upTo: layer)
            XCTAssertEqual(pooled.count, (layer ?? model.config.layerCount) + 1)
            for (s, ids) in sequences.enumerated() {
                let alone =
                    try ids.isEmpty ? nil : Retrieval.pooledStates([ids], model: model, adapters: .empty, upTo: layer)
                for l in pooled.indices {
                    XCTAssertEqual(pooled[l].count, sequences.count)
                    let expected = alone?[l][0] ?? [Float](repeating: 0, count: model.config.hiddenSize)
                    let worst = zip(pooled[l][s], expected).map { abs($0 - $1) }.max() ?? .infinity
                    XCTAssertLessThanOrEqual(
                        worst, 1e-5 * max(1, expected.map(abs).max() ?? 0), "sequence \(s), layer \(l)")
                }
            }
        }
    }

    func testPartsAreCutAtTheBoundaryNearestEqualRows() {
        // Offsets 0, 10, 11, 12, 40, 41, then two empty sequences: halves of 41 rows cut at 12 (nearest 20),
        // thirds at 12 and 40 (nearest 13 and 27); the last cut is always the count.
        let batch = TokenBatch(packing: [
            Array(repeating: 1, count: 10), [1], [1], Array(repeating: 1, count: 28), [1], [], [],
        ])
        XCTAssertEqual(batch.offsets, [0, 10, 11, 12, 40, 41, 41, 41])
        XCTAssertEqual(batch.partBoundaries(1), [0, 7])
        XCTAssertEqual(batch.partBoundaries(2), [0, 3, 7])
        XCTAssertEqual(batch.partBoundaries(3), [0, 3, 4, 7])
        XCTAssertEqual(batch.positions, Array(0..<10) + [0, 0] + Array(0..<28) + [0])
        let padded = TokenBatch([[1, 2], [3], []], padID: 0)
        XCTAssertEqual(padded.offsets, [0, 2, 4, 6])
        XCTAssertEqual(padded.partBoundaries(2), [0, 1, 3])  // a tie (2 or 4 rows from 3): the first
        XCTAssertEqual(padded.row(1, 1), 3)
    }
}
