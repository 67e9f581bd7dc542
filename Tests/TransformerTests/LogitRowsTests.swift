import Tensors
import TestSupport
import XCTest
@testable import Transformer

/// `forward(logitRows:)` computes the output head for the rows asked for only
/// (scoring's response rows, generation's last prompt row): those rows'
/// logits must be the full pass's, in the order asked.
final class LogitRowsTests: XCTestCase {
    func testSelectedRowsEqualTheFullPassInEveryLayoutAndPartCount() throws {
        let model = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        var generator = SeededGenerator(seed: 11)
        let sequences = [13, 2, 40, 7, 1].map { n in
            (0..<n).map { _ in Int.random(in: 0..<model.config.vocabSize, using: &generator) }
        }
        let v = model.config.vocabSize
        for batch in [TokenBatch(sequences), TokenBatch(packing: sequences)] {
            // Rows in every sequence, the first and the last row of the batch, runs and gaps.
            let rows = [0, 1, 5, 12] + (batch.row(2, 0)..<batch.row(2, 9)) + [batch.row(3, 6), batch.rows - 1]
            for threads in [1, 2] {
                model.threadCount = threads
                let full = try model.forward(batch).logits
                let selected = try model.forward(batch, logitRows: rows).logits
                XCTAssertEqual(selected.count, rows.count * v)
                for (i, row) in rows.enumerated() {
                    let expected = full[(row * v)..<((row + 1) * v)]
                    let scale = expected.map(abs).max() ?? 1
                    let worst = zip(selected[(i * v)..<((i + 1) * v)], expected).map { abs($0 - $1) }.max() ?? 1
                    XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(threads) thread(s), row \(row)")
                }
                XCTAssertTrue(try model.forward(batch, logitRows: []).logits.isEmpty)
                // Rows in the last sequence only: on two parts, the first part has none to compute.
                let last = try model.forward(batch, logitRows: [batch.rows - 2, batch.rows - 1]).logits
                let tail = full[((batch.rows - 2) * v)...]
                XCTAssertEqual(last.count, tail.count)
                let scale = tail.map(abs).max() ?? 1
                XCTAssertLessThanOrEqual(
                    (zip(last, tail).map { abs($0 - $1) }.max() ?? 1) / scale, 1e-5, "\(threads) thread(s), last rows")
            }
        }
    }

    func testRowsOutOfOrderOrRangeAreRefused() throws {
        let model = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        let batch = TokenBatch(packing: [[1, 2, 3], [4]])
        for rows in [[2, 1], [0, 0], [4], [-1]] {
            XCTAssertThrowsError(try model.forward(batch, logitRows: rows), "\(rows)")
        }
    }
}
