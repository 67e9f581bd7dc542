import XCTest
import Tensors
import AdapterFormat
import TestSupport
@testable import Training
import Transformer

/// Full-parameter gradients (every base weight, as pretraining needs) against
/// central finite differences in Double, for both losses, on the untied Llama
/// and the tied Qwen2 fixtures.
final class BaseGradientTests: XCTestCase {
    func check(
        _ model: String, objective: (TrainingGraph<Double>, LoRAParameters<Double>, inout TrainingRandom) -> Double
    ) throws {
        let dir = Fixtures.path("runtime/\(model)")
        let config = try ModelConfig(directory: dir)
        let weights = FrozenWeights<Double>(try ModelWeights(directory: dir, config: config), config: config)
        let lora = try LoRAParameters<Double>.loaded(
            from: try AdapterReader.open(Fixtures.path("runtime/\(model)-adapters/a")), config: config)
        let base = BaseGradients(like: weights)
        let graph = TrainingGraph(weights: weights, options: .init(threads: 3), baseGradients: base)
        let plain = TrainingGraph(weights: weights)
        var random = TrainingRandom(seed: 1, stream: "dropout")
        _ = objective(graph, lora, &random)
        func loss() -> Double {
            var r = TrainingRandom(seed: 1, stream: "dropout")
            return objective(plain, lora, &r)
        }
        var rng = TestRandom(seed: 77)
        var probed = 0
        var nonzero = 0
        for (parameter, gradient) in zip(weights.trainableTensors, base.tensors) {
            for _ in 0..<3 {
                // Embedding rows outside the batch have no gradient; probe the ids used (small ones here) too.
                let k =
                    parameter === weights.embedding
                    ? Int(rng.next() % UInt64(40 * config.hiddenSize))
                    : Int(rng.next() % UInt64(parameter.count))
                let numeric = centralDifference(parameter, k, loss)
                XCTAssertEqual(
                    gradient.p[k], numeric, accuracy: 1e-6 * max(1, abs(numeric)),
                    "\(model) tensor of \(parameter.count) [\(k)]")
                probed += 1
                if abs(numeric) > 1e-9 { nonzero += 1 }
            }
        }
        XCTAssertGreaterThan(nonzero, probed / 2)
    }

    func testTaskLossGradientsOfEveryBaseWeight() throws {
        for model in ["llama", "qwen2"] {
            try check(model) { graph, lora, random in
                let examples = [
                    Scoring.Example(ids: [3, 17, 5, 29, 11, 2], promptLength: 1),
                    Scoring.Example(ids: [7, 1, 30, 4], promptLength: 2),
                ]
                return graph.taskLoss(examples, lora: lora, gradients: lora.zerosLike(), random: &random)
            }
        }
    }

    func testAlignmentLossGradientsOfEveryBaseWeight() throws {
        try check("llama") { graph, lora, random in
            graph.alignmentLoss(
                side0: [[3, 9, 12, 5], [21, 2, 8]], side1: [[30, 6, 1], [14, 25, 19, 33]], layer: 2, temperature: 0.1,
                lora: lora, gradients: lora.zerosLike(), random: &random)
        }
    }
}
