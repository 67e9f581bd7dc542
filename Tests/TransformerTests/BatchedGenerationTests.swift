import AdapterFormat
import Tensors
import TestSupport
import XCTest
@testable import Transformer

/// `generate(prompts:)` decodes several prompts as rows of one product per
/// step; each prompt's output must be what decoding it alone gives, whatever
/// its length, budget and stopping point.
final class BatchedGenerationTests: XCTestCase {
    func testPromptsDecodedTogetherEqualEachDecodedAlone() throws {
        let adapter = try AdapterReader.open(Fixtures.path("runtime/llama-adapters/a"))
        for name in ["runtime/llama", "runtime/qwen2", "runtime/llama+adapter"] {
            let model = try TransformerModel(
                directory: Fixtures.path(name.replacingOccurrences(of: "+adapter", with: "")))
            // check decodes with the adapters unmerged: their rank-r terms run per step too.
            let adapters =
                name.hasSuffix("+adapter")
                ? try AdapterStack(adapters: [(source: adapter, weight: 0.7)], config: model.config) : .empty
            var generator = SeededGenerator(seed: 5)
            let prompts = [9, 1, 30, 4, 17, 0].map { n in
                (0..<n).map { _ in Int.random(in: 0..<model.config.vocabSize, using: &generator) }
            }
            // Different budgets (one of 0), so that prompts leave the batch at different steps.
            let budgets = [12, 5, 9, 0, 20, 3]
            let alone = try zip(prompts, budgets).map { prompt, budget in
                try model.generate(prompt: prompt, maxNewTokens: budget, stopTokens: [], adapters: adapters)
            }
            XCTAssertEqual(alone.map(\.count), [12, 5, 9, 0, 20, 0], name)
            // Different prompts decode differently, so rows swapped within a step would show.
            XCTAssertEqual(Set(alone.filter { !$0.isEmpty }).count, 4, name)
            let together = try model.generate(
                prompts: prompts, maxNewTokens: budgets, stopTokens: [], adapters: adapters)
            XCTAssertEqual(together, alone, name)
            // A stop token taken from the outputs ends some prompts early and is kept.
            let stop = try XCTUnwrap(alone[4].dropFirst(6).first)
            let stopped = try zip(prompts, budgets).map { prompt, budget in
                try model.generate(prompt: prompt, maxNewTokens: budget, stopTokens: [stop], adapters: adapters)
            }
            XCTAssertEqual(
                try model.generate(prompts: prompts, maxNewTokens: budgets, stopTokens: [stop], adapters: adapters),
                stopped, name)
            XCTAssertEqual(stopped[4].last, stop, name)
            XCTAssertThrowsError(try model.generate(prompts: prompts, maxNewTokens: [1], stopTokens: []))
        }
    }
}
