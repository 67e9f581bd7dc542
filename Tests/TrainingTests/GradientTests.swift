import XCTest
import AdapterFormat
import Tensors
import TestSupport
import Training
import Transformer

/// The backward pass against central finite differences of the whole losses,
/// in Double, on the tiny fixture checkpoints: Qwen2 (biases, tied embeddings)
/// and Llama (grouped-query attention). Every module type of every layer is
/// probed, in A and in B, so every op's backward is on some path.
final class GradientTests: XCTestCase {
    struct Setup {
        let graph: TrainingGraph<Double>
        let lora: LoRAParameters<Double>
        let config: ModelConfig
    }

    func setup(_ model: String, dropout: Double = 0, recompute: Bool = false, threads: Int = 1) throws -> Setup {
        let dir = Fixtures.path("runtime/\(model)")
        let config = try ModelConfig(directory: dir)
        let weights = try ModelWeights(directory: dir, config: config)
        let frozen = FrozenWeights<Double>(weights, config: config)
        let lora = try LoRAParameters<Double>.loaded(
            from: try AdapterReader.open(Fixtures.path("runtime/\(model)-adapters/a")),
            config: config)
        return Setup(
            graph: TrainingGraph(
                weights: frozen, options: .init(dropout: dropout, recompute: recompute, threads: threads)),
            lora: lora, config: config)
    }

    func randomSequences(_ count: Int, vocab: Int, seed: UInt64) -> [[Int]] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { i in (0..<(4 + i % 3)).map { _ in Int(rng.next() % UInt64(vocab)) } }
    }

    /// Compares the analytic gradient with central differences at a few entries of every module.
    /// Only blocks below `activeLayers` can reach the loss (the alignment loss stops early).
    func check(
        _ s: Setup, tolerance: Double = 1e-6, activeLayers: Int? = nil,
        loss: (LoRAParameters<Double>, LoRAParameters<Double>?) -> Double
    ) {
        let gradients = s.lora.zerosLike()
        _ = loss(s.lora, gradients)
        var rng = TestRandom(seed: 42)
        var probed = 0
        var nonzero = 0
        for (i, module) in s.lora.modules.enumerated() {
            for (parameter, gradient) in [(module.a, gradients.modules[i].a), (module.b, gradients.modules[i].b)] {
                for _ in 0..<2 {
                    let k = Int(rng.next() % UInt64(parameter.count))
                    let numeric = centralDifference(parameter, k) { loss(s.lora, nil) }
                    let analytic = gradient.p[k]
                    XCTAssertEqual(
                        analytic, numeric, accuracy: tolerance * max(1, abs(numeric)),
                        "\(module.info.path) \(parameter === module.a ? "A" : "B")[\(k)]")
                    if module.layer < (activeLayers ?? s.config.layerCount) {
                        probed += 1
                        if abs(numeric) > 1e-8 { nonzero += 1 }
                    } else {
                        XCTAssertEqual(analytic, 0, "\(module.info.path) is past the alignment layer")
                    }
                }
            }
        }
        XCTAssertGreaterThan(nonzero, probed / 2, "most probes should see a gradient")
    }

    func testTaskLossGradientsMatchFiniteDifferences() throws {
        for model in ["qwen2", "llama"] {
            let s = try setup(model)
            let sequences = randomSequences(3, vocab: s.config.vocabSize, seed: 7)
            let examples = sequences.enumerated().map { Scoring.Example(ids: $1, promptLength: 1 + $0 % 2) }
            check(s) { lora, gradients in
                var random = TrainingRandom(seed: 1, stream: "dropout")
                return s.graph.taskLoss(examples, lora: lora, gradients: gradients, random: &random)
            }
        }
    }

    func testAlignmentLossGradientsMatchFiniteDifferences() throws {
        for model in ["qwen2", "llama"] {
            let s = try setup(model)
            let side0 = randomSequences(3, vocab: s.config.vocabSize, seed: 11)
            let side1 = randomSequences(3, vocab: s.config.vocabSize, seed: 12).reversed().map { $0 }
            check(s, activeLayers: s.config.layerCount - 1) { lora, gradients in
                var random = TrainingRandom(seed: 1, stream: "dropout")
                return s.graph.alignmentLoss(
                    side0: side0, side1: side1, layer: s.config.layerCount - 1, temperature: 0.1,
                    lora: lora, gradients: gradients, random: &random)
            }
        }
    }

    func testDropoutAndRecomputationKeepGradientsExact() throws {
        // With a fixed dropout stream the loss is a deterministic function of the
        // factors, so finite differences apply; recomputation must replay the same masks.
        for recompute in [false, true] {
            let s = try setup("llama", dropout: 0.25, recompute: recompute)
            let sequences = randomSequences(2, vocab: s.config.vocabSize, seed: 5)
            let examples = sequences.map { Scoring.Example(ids: $0, promptLength: 2) }
            check(s) { lora, gradients in
                var random = TrainingRandom(seed: 3, stream: "dropout")
                return s.graph.taskLoss(examples, lora: lora, gradients: gradients, random: &random)
            }
        }
    }

    func testBatchPartsOnSeveralThreadsGiveTheSameLossAndGradients() throws {
        let serial = try setup("llama")
        let parallel = try setup("llama", threads: 3)
        let sequences = randomSequences(5, vocab: serial.config.vocabSize, seed: 21)
        let examples = sequences.enumerated().map { Scoring.Example(ids: $1, promptLength: 1 + $0 % 3) }
        var r1 = TrainingRandom(seed: 1, stream: "dropout")
        var r2 = r1
        let g1 = serial.lora.zerosLike()
        let g2 = parallel.lora.zerosLike()
        let l1 = serial.graph.taskLoss(examples, lora: serial.lora, gradients: g1, random: &r1)
        let l2 = parallel.graph.taskLoss(examples, lora: parallel.lora, gradients: g2, random: &r2)
        XCTAssertEqual(l1, l2, accuracy: 1e-12 * l1)
        for (a, b) in zip(g1.tensors, g2.tensors) {
            for i in 0..<a.count { XCTAssertEqual(a.p[i], b.p[i], accuracy: 1e-12 * max(1, abs(a.p[i]))) }
        }
    }

    func testAlignmentPartsOnSeveralThreadsGiveTheSameLossAndGradients() throws {
        let side0 = randomSequences(4, vocab: 1024, seed: 31)
        let side1 = randomSequences(4, vocab: 1024, seed: 32)
        // Without dropout the parts change nothing but the order of sums.
        let a = try setup("qwen2")
        let b = try setup("qwen2", threads: 3)
        var r1 = TrainingRandom(seed: 1, stream: "dropout")
        var r2 = r1
        let g1 = a.lora.zerosLike()
        let g2 = b.lora.zerosLike()
        let l1 = a.graph.alignmentLoss(
            side0: side0, side1: side1, layer: 2, temperature: 0.1, lora: a.lora, gradients: g1, random: &r1)
        let l2 = b.graph.alignmentLoss(
            side0: side0, side1: side1, layer: 2, temperature: 0.1, lora: b.lora, gradients: g2, random: &r2)
        XCTAssertEqual(l1, l2, accuracy: 1e-12 * l1)
        for (x, y) in zip(g1.tensors, g2.tensors) {
            for i in 0..<x.count { XCTAssertEqual(x.p[i], y.p[i], accuracy: 1e-12 * max(1, abs(x.p[i]))) }
        }
        // And with dropout, the parallel loss still has the right gradient.
        let d = try setup("qwen2", dropout: 0.2, threads: 2)
        check(d) { lora, gradients in
            var random = TrainingRandom(seed: 5, stream: "dropout")
            return d.graph.alignmentLoss(
                side0: side0, side1: side1, layer: 2, temperature: 0.1, lora: lora,
                gradients: gradients, random: &random)
        }
    }
}
