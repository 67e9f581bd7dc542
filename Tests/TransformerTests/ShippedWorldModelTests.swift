import XCTest
import AdapterFormat
import Tensors
import TestSupport
@testable import Transformer

/// The base model shipped in examples/world, trained by adaptermerge itself,
/// against transformers and tokenizers (Tests/Fixtures/world, made by
/// scripts/fixtures/make_world_fixture.py): the same ids and the same logits.
final class ShippedWorldModelTests: XCTestCase {
    static let modelDirectory = Fixtures.path("../../examples/world/model")

    func testTransformersGivesTheRuntimesLogitsForTheShippedModel() throws {
        let expected = try Fixtures.json("world/expected.json")
        let texts = try XCTUnwrap(expected["texts"]?.arrayValue).compactMap(\.stringValue)
        let ids = try XCTUnwrap(expected["ids"]?.arrayValue).map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
        XCTAssertEqual(texts.count, 3)

        let tokenizer = try Tokenizer(directory: Self.modelDirectory)
        for (text, theirs) in zip(texts, ids) {
            XCTAssertEqual(try tokenizer.encode(text), theirs, "token ids of \(text)")
        }

        let model = try TransformerModel(directory: Self.modelDirectory)
        let batch = TokenBatch(ids)
        let out = try model.forward(batch)
        let theirs = try SafeTensorsFile(path: Fixtures.path("world/expected.safetensors")).tensor("logits").floats()
        let vocab = model.config.vocabSize
        XCTAssertEqual(
            theirs.count, ids.map(\.count).reduce(0, +) * vocab,
            "the fixture is for another model: rerun scripts/fixtures/make_world_fixture.py")
        var row = 0
        var largestError = 0.0
        var largest = 0.0
        for (s, sequence) in ids.enumerated() {
            for t in sequence.indices {
                let ours = (s * batch.length + t) * vocab
                let reference = row * vocab
                for v in 0..<vocab {
                    largestError = max(largestError, abs(Double(out.logits[ours + v]) - Double(theirs[reference + v])))
                    largest = max(largest, abs(Double(theirs[reference + v])))
                }
                row += 1
            }
        }
        XCTAssertGreaterThan(largest, 1, "real logits, not zeros")
        XCTAssertLessThan(
            largestError, 1e-4,
            "largest |runtime − transformers| over \(row) positions (logits up to \(largest)); if the shipped model changed, rerun scripts/fixtures/make_world_fixture.py"
        )
    }
}
