import XCTest
import AdapterFormat
import TestSupport
@testable import Transformer

/// The forward pass with unmerged LoRA against transformers + PEFT logits
/// (Tests/Fixtures/peft/<case>/expected.json, made by make_fixtures.py).
final class ForwardAgainstPEFTTests: XCTestCase {
    func testLogitsMatchPEFTForEveryAdapterCase() throws {
        let model = try TransformerModel(directory: Fixtures.path("tiny-llama"))
        for name in ["basic", "rslora", "patterns", "task", "align"] {
            let expected = try Fixtures.json("peft/\(name)/expected.json")
            let ids = try XCTUnwrap(expected["input_ids"]?.arrayValue).map {
                try XCTUnwrap($0.arrayValue).compactMap(\.intValue)
            }
            let logits = try XCTUnwrap(expected["logits"]?.arrayValue).compactMap(\.doubleValue)
            let adapter = try AdapterReader.open(Fixtures.path("peft/\(name)"))
            let stack = try AdapterStack(adapters: [(adapter, 1)], config: model.config)
            let out = try model.forward(TokenBatch(ids), adapters: stack)
            XCTAssertEqual(out.logits.count, logits.count)
            var worst = 0.0
            let scale = logits.map(abs).max() ?? 1
            for (a, b) in zip(out.logits, logits) { worst = max(worst, abs(Double(a) - b) / scale) }
            XCTAssertLessThan(worst, 1e-5, "\(name): worst error relative to the largest logit")
            XCTAssertGreaterThan(scale, 0.1, "logits are not degenerate")
        }
    }
}
