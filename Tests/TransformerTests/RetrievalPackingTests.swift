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
}
