import Tensors
import TestSupport
import XCTest
@testable import Transformer

/// `generate(prompts:)` decodes several prompts as rows of one product per
/// step; each prompt's output must be what decoding it alone gives, whatever
/// its length, budget and stopping point.
final class BatchedGenerationTests: XCTestCase {
    func testPromptsDecodedTogetherEqualEachDecodedAlone() throws {
        for name in ["runtime/llama", "runtime/qwen2"] {
            let model = try TransformerModel(directory: Fixtures.path(name))
            var generator = SeededGenerator(seed: 5)
            let prompts = [9, 1, 30, 4, 17, 0].map { n in
                (0..<n).map { _ in Int.random(in: 0..<model.config.vocabSize, using: &generator) }
            }
            // Different budgets (one of 0), so that prompts leave the batch at different steps.
            let budgets = [12, 5, 9, 0, 20, 3]
            let alone = try zip(prompts, budgets).map { prompt, budget in
                try model.generate(prompt: prompt, maxNewTokens: budget, stopTokens: [])
            }
            XCTAssertEqual(alone.map(\.count), [12, 5, 9, 0, 20, 0], name)
            let together = try model.generate(prompts: prompts, maxNewTokens: budgets, stopTokens: [])
            XCTAssertEqual(together, alone, name)
            // A stop token taken from the outputs ends some prompts early and is kept.
            let stop = try XCTUnwrap(alone[4].dropFirst(6).first)
            let stopped = try zip(prompts, budgets).map { prompt, budget in
                try model.generate(prompt: prompt, maxNewTokens: budget, stopTokens: [stop])
            }
            XCTAssertEqual(
                try model.generate(prompts: prompts, maxNewTokens: budgets, stopTokens: [stop]), stopped, name)
            XCTAssertEqual(stopped[4].last, stop, name)
            XCTAssertThrowsError(try model.generate(prompts: prompts, maxNewTokens: [1], stopTokens: []))
        }
    }
}
