import XCTest
import AdapterFormat
import Tensors
import TestSupport
@testable import Training
import Transformer

/// Short runs on the tiny fixture Llama: the losses must go down, seeds must
/// reproduce runs bit for bit, and the optimizers and schedule must follow
/// their definitions.
final class TrainerTests: XCTestCase {
    static let model = Result { try TransformerModel(directory: Fixtures.path("runtime/llama")) }
    static let tokenizer = Result { try Tokenizer(directory: Fixtures.path("runtime/llama")) }
    /// The same checkpoint (bf16) kept as stored, widened a projection group per use.
    static let storedModel = Result {
        try TransformerModel(directory: Fixtures.path("runtime/llama"), residency: .stored)
    }

    func data(_ rows: [String], name: String = #function) throws -> TrainingData {
        let dir = try Fixtures.scratchDirectory(name)
        let path = dir + "/data.jsonl"
        try Fixtures.write(Array(rows.joined(separator: "\n").utf8), to: path)
        return try TrainingData(paths: [path], tokenizer: try Self.tokenizer.get(), maxLength: 128, skipBadRows: false)
    }

    var taskRows: [String] {
        [
            "{\"prefix\": \"Q: colour of the sky?\", \"text\": \" A: blue\", \"lang\": \"en\"}",
            "{\"prefix\": \"Q: colour of grass?\", \"text\": \" A: green\", \"lang\": \"en\"}",
            "{\"prefix\": \"Q: colour of snow?\", \"text\": \" A: white\", \"lang\": \"en\"}",
            "{\"prefix\": \"Q: colour of coal?\", \"text\": \" A: black\", \"lang\": \"en\"}",
        ]
    }

    var pairRows: [String] {
        [
            "{\"text_parallel_0\": \"Der Hund schläft.\", \"text_parallel_1\": \"The dog sleeps.\", \"lang\": \"de\"}",
            "{\"text_parallel_0\": \"Le chat mange.\", \"text_parallel_1\": \"The cat eats.\", \"lang\": \"fr\"}",
            "{\"text_parallel_0\": \"Птица поёт.\", \"text_parallel_1\": \"The bird sings.\", \"lang\": \"ru\"}",
            "{\"text_parallel_0\": \"Ich trinke Kaffee.\", \"text_parallel_1\": \"I drink coffee.\", \"lang\": \"de\"}",
        ]
    }

    func run(
        _ objective: TrainingObjective, steps: Int, seed: UInt64 = 1, dropout: Double = 0.1,
        data: TrainingData, model: TransformerModel? = nil
    ) throws -> (trainer: Trainer, reports: [StepReport]) {
        var recipe = TrainingRecipe(objective: objective)
        recipe.steps = steps
        recipe.learningRate = 1e-2
        recipe.batchSize = 4
        recipe.dropout = dropout
        recipe.seed = seed
        recipe.warmupFraction = 0
        let trainer = Trainer(model: try model ?? Self.model.get(), recipe: recipe)
        var reports: [StepReport] = []
        _ = try trainer.run(data, dev: nil) { reports.append($0) }
        return (trainer, reports)
    }

    func testTaskTrainingLowersTheTaskLoss() throws {
        let d = try data(taskRows)
        let (trainer, reports) = try run(.task, steps: 25, data: d)
        let first = try XCTUnwrap(reports.first?.taskLoss)
        let last = trainer.evaluate(d)
        XCTAssertLessThan(last, first * 0.6, "task loss \(first) → \(last)")
        XCTAssertEqual(reports.count, 25)
        XCTAssertTrue(reports.allSatisfy { $0.alignLoss == nil })
    }

    func testAlignmentTrainingLowersTheAlignmentLoss() throws {
        let d = try data(pairRows)
        let (trainer, reports) = try run(.align, steps: 25, data: d)
        let first = try XCTUnwrap(reports.first?.alignLoss)
        let last = trainer.evaluate(d)
        XCTAssertLessThan(last, first * 0.5, "alignment loss \(first) → \(last)")
        // Blocks at and above the alignment layer never reach the loss: their B stays zero.
        let layer = trainer.recipe.alignmentLayer(trainer.config)
        for m in trainer.parameters.modules where m.layer >= layer {
            XCTAssertTrue(m.b.array.allSatisfy { $0 == 0 }, m.info.path)
        }
    }

    func testJointTrainingAlternatesAndLowersBoth() throws {
        let d = try data(taskRows + pairRows)
        XCTAssertEqual(d.task.count, 4)
        XCTAssertEqual(d.pairs.count, 4)
        let (trainer, reports) = try run(.joint, steps: 20, data: d)
        XCTAssertTrue(reports.allSatisfy { $0.taskLoss != nil && $0.alignLoss != nil })
        let first = (try XCTUnwrap(reports.first?.taskLoss) + (try XCTUnwrap(reports.first?.alignLoss))) / 2
        XCTAssertLessThan(trainer.evaluate(d), first * 0.7)
    }

    func testTheSameSeedGivesTheSameFactorsBitForBit() throws {
        let d = try data(taskRows)
        let a = try run(.task, steps: 4, seed: 9, data: d).trainer.parameters
        let b = try run(.task, steps: 4, seed: 9, data: d).trainer.parameters
        let c = try run(.task, steps: 4, seed: 10, data: d).trainer.parameters
        XCTAssertEqual(a.tensors.map(\.array), b.tensors.map(\.array))
        XCTAssertNotEqual(a.tensors.map(\.array), c.tensors.map(\.array))
    }

    /// The trainers read the same weight store as the runtime: stored weights
    /// widened per use train the same factors as weights widened at load.
    func testStoredWeightsTrainTheSameFactorsAsWidened() throws {
        let d = try data(taskRows + pairRows)
        for objective in [TrainingObjective.task, .align] {
            let widened = try run(objective, steps: 2, seed: 3, data: d).trainer.parameters
            let stored = try run(objective, steps: 2, seed: 3, data: d, model: Self.storedModel.get()).trainer
                .parameters
            XCTAssertEqual(widened.tensors.map(\.array), stored.tensors.map(\.array), "\(objective)")
        }
    }

    func testAdamWMatchesItsDefinitionAndSGDItsStep() {
        let config = try? Self.model.get().config
        guard let config else { return XCTFail("fixture model") }
        let p = LoRAParameters<Double>.initialized(config: config, rank: 2, alpha: 4, targets: ["q_proj"], seed: 1)
        let g = p.zerosLike()
        for t in g.tensors { for i in 0..<t.count { t.p[i] = Double(i % 5) - 2 } }
        let start = p.copy()
        let adam = Optimizer<Double>(.init(kind: .adamw, weightDecay: 0.1))
        adam.step(p, g, lr: 0.01)
        adam.step(p, g, lr: 0.01)
        // Two steps with a constant gradient g: m̂ = g and v̂ = g², so each step moves −lr·g/(|g| + ε) after the decay.
        for (t0, t) in zip(start.tensors, p.tensors) {
            for i in 0..<t.count {
                let gi = Double(i % 5) - 2
                var x = t0.p[i]
                for _ in 0..<2 { x = x * (1 - 0.01 * 0.1) - 0.01 * gi / (abs(gi) + 1e-8) }
                XCTAssertEqual(t.p[i], x, accuracy: 1e-12)
            }
        }
        let q = start.copy()
        Optimizer<Double>(.init(kind: .sgd)).step(q, g, lr: 0.5)
        XCTAssertEqual(q.tensors[0].p[1], start.tensors[0].p[1] - 0.5 * (-1), accuracy: 1e-15)
        // Clipping scales to the maximum norm, as torch does.
        let norm = g.norm
        XCTAssertEqual(g.clip(to: 1), norm, accuracy: 1e-12)
        XCTAssertEqual(g.norm, 1, accuracy: 1e-5)
    }

    func testInverseSquareRootScheduleFollowsTransformers() {
        let s = LearningRateSchedule(peak: 1e-3, warmupSteps: 4)
        XCTAssertEqual(s.rate(at: 0), 0)
        XCTAssertEqual(s.rate(at: 2), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 4), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 16), 1e-3 / 2, accuracy: 1e-15)
        XCTAssertEqual(LearningRateSchedule(peak: 1, warmupSteps: 0).rate(at: 30_000), 0.5, accuracy: 1e-12)
    }

    func testIdsOutsideTheVocabularyAndAnUnmeasurableDevSetAreHandled() throws {
        var d = try data(taskRows)
        d.task.append(.init(example: Scoring.Example(ids: [1, 5, 999_999], promptLength: 1), lang: "en"))
        var recipe = TrainingRecipe(objective: .task)
        recipe.steps = 1
        XCTAssertThrowsError(try Trainer(model: try Self.model.get(), recipe: recipe).run(d, dev: nil) { _ in }) {
            error in
            XCTAssertTrue("\(error)".contains("outside the model's vocabulary"), "\(error)")
        }
        // A dev set whose rows score no token: NaN, and the last checkpoint is kept rather than a fake best.
        var dev = try data(taskRows, name: "dev")
        dev.task = dev.task.map {
            .init(example: Scoring.Example(ids: $0.example.ids, promptLength: $0.example.ids.count), lang: $0.lang)
        }
        recipe.steps = 2
        let trainer = Trainer(model: try Self.model.get(), recipe: recipe)
        XCTAssertTrue(trainer.evaluate(dev).isNaN)
        let result = try trainer.run(try data(taskRows), dev: dev) { _ in }
        XCTAssertNil(result.bestDevLoss)
    }

    func testBadRowsNameTheirFileAndLine() throws {
        let rows = taskRows + ["{\"lang\": \"en\"}", "{\"prefix\": 3, \"text\": \"x\"}"]
        XCTAssertThrowsError(try data(rows)) { error in
            XCTAssertTrue("\(error)".contains("line 5"), "\(error)")
        }
        let dir = try Fixtures.scratchDirectory()
        let path = dir + "/bad.jsonl"
        try Fixtures.write(Array(rows.joined(separator: "\n").utf8), to: path)
        let kept = try TrainingData(
            paths: [path], tokenizer: try Self.tokenizer.get(), maxLength: 128, skipBadRows: true)
        XCTAssertEqual(kept.task.count, 4)
        XCTAssertEqual(kept.skipped.count, 2)
        XCTAssertTrue(kept.skipped[1].contains("line 6"), kept.skipped[1])
        let long = try TrainingData(paths: [path], tokenizer: try Self.tokenizer.get(), maxLength: 5, skipBadRows: true)
        XCTAssertTrue(long.skipped.contains { $0.contains("longer than the model's 5") })
    }
}
