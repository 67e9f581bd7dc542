import AdapterFormat
import Foundation
import Tensors
import Transformer

/// Which loss a run optimises.
public enum TrainingObjective: String, Sendable, CaseIterable {
    /// Response-only causal-LM loss.
    case task
    /// InfoNCE on mean-pooled states at the alignment layer.
    case align
    /// Both, alternating every micro-batch, task first.
    case joint

    public var adapterKind: AdapterKind {
        switch self {
        case .task: .task
        case .align: .alignment
        case .joint: .joint
        }
    }
}

/// Everything that defines a training run; stored in the output's metadata.
public struct TrainingRecipe: Sendable {
    public var objective: TrainingObjective
    public var rank = 8
    public var alpha = 16.0
    public var dropout = 0.1
    public var targets = LoRAParameters<Float>.allProjections
    /// Optimizer steps; when nil, `epochs` passes over the data.
    public var steps: Int?
    public var epochs = 1.0
    public var learningRate = 5e-4
    public var batchSize = 8
    public var gradientAccumulation = 1
    public var optimizer = Optimizer<Float>.Settings()
    public var clipNorm = 1.0
    public var warmupFraction = 0.03
    public var seed: UInt64 = 0
    /// The alignment layer ℓ (hidden_states index); nil means the middle, L/2.
    public var layer: Int?
    public var temperature = 0.1
    /// Evaluate on the dev data every this many steps (and at the end).
    public var evaluateEvery = 50
    public var recompute = false
    /// How task rows were tokenized (recorded when it is the reference's `joint`).
    public var promptTokenization: Scoring.PromptTokenization = .separate

    public init(objective: TrainingObjective) { self.objective = objective }

    func alignmentLayer(_ config: ModelConfig) -> Int { layer ?? max(1, config.layerCount / 2) }
}

/// What one optimizer step did.
public struct StepReport: Sendable {
    public let step: Int
    public let totalSteps: Int
    public let learningRate: Double
    public let taskLoss: Double?
    public let alignLoss: Double?
    public let gradientNorm: Double
    public let tokens: Int
    public let seconds: Double
    /// Dev loss, on steps that evaluated.
    public var devLoss: Double?

    public init(
        step: Int, totalSteps: Int, learningRate: Double, taskLoss: Double?, alignLoss: Double?, gradientNorm: Double,
        tokens: Int, seconds: Double, devLoss: Double? = nil
    ) {
        self.step = step
        self.totalSteps = totalSteps
        self.learningRate = learningRate
        self.taskLoss = taskLoss
        self.alignLoss = alignLoss
        self.gradientNorm = gradientNorm
        self.tokens = tokens
        self.seconds = seconds
        self.devLoss = devLoss
    }
}

/// Trains LoRA factors on a frozen base model with the task, alignment or
/// joint objective (docs/DESIGN.md §6): shuffled micro-batches (reshuffled each
/// pass), gradient accumulation, global-norm clipping, AdamW or SGD under the
/// inverse-square-root schedule, and the best dev checkpoint kept.
public final class Trainer {
    public let recipe: TrainingRecipe
    public let config: ModelConfig
    public let parameters: LoRAParameters<Float>
    let graph: TrainingGraph<Float>
    let evaluation: TrainingGraph<Float>

    /// - Parameter initial: factors to continue from (`--init`); fresh PEFT-style ones otherwise.
    public init(model: TransformerModel, recipe: TrainingRecipe, initial: LoRAParameters<Float>? = nil) {
        self.recipe = recipe
        config = model.config
        let frozen = FrozenWeights<Float>(model.weights, config: model.config)
        graph = TrainingGraph(
            weights: frozen,
            options: .init(
                dropout: recipe.dropout, recompute: recipe.recompute,
                threads: model.threadCount))
        evaluation = TrainingGraph(
            weights: frozen, options: .init(dropout: 0, recompute: false, threads: model.threadCount))
        parameters =
            initial
            ?? LoRAParameters.initialized(
                config: model.config, rank: recipe.rank, alpha: recipe.alpha,
                targets: recipe.targets, seed: recipe.seed)
    }

    /// Optimizer steps the run will take for `data`.
    /// The most optimizer steps one run may take: a stated bound on the work a
    /// mistyped `--steps` or `--epochs` can start.
    public static let maximumSteps = 1_000_000

    public func totalSteps(_ data: TrainingData) -> Int {
        if let steps = recipe.steps { return max(1, steps) }
        let rows: Int
        switch recipe.objective {
        case .task: rows = data.task.count
        case .align: rows = data.pairs.count
        case .joint: rows = max(data.task.count, data.pairs.count)
        }
        let perStep = recipe.batchSize * recipe.gradientAccumulation
        return max(1, Int((Double(rows) * recipe.epochs / Double(perStep)).rounded(.up)))
    }

    /// Runs the whole schedule. `report` sees every step.
    ///
    /// - Returns: the factors to keep (the best on dev when there is dev
    ///   data, else the last), and the final losses.
    public func run(_ data: TrainingData, dev: TrainingData?, report: (StepReport) -> Void) throws
        -> (best: LoRAParameters<Float>, last: StepReport, bestDevLoss: Double?)
    {
        try validate(data, name: "training")
        if let dev { try validate(dev, name: "dev") }
        let total = totalSteps(data)
        let schedule = LearningRateSchedule(
            peak: recipe.learningRate,
            warmupSteps: Int((Double(total) * recipe.warmupFraction).rounded(.up)))
        let optimizer = Optimizer<Float>(recipe.optimizer)
        let gradients = parameters.zerosLike()
        var taskStream = BatchStream(
            count: data.task.count, batchSize: recipe.batchSize, seed: recipe.seed, name: "task")
        var pairStream = BatchStream(
            count: data.pairs.count, batchSize: recipe.batchSize, seed: recipe.seed, name: "pairs")
        var dropout = TrainingRandom(seed: recipe.seed, stream: "dropout")
        let layer = recipe.alignmentLayer(config)
        var best: (loss: Double, parameters: LoRAParameters<Float>)?
        var last: StepReport?
        let start = Date()

        for step in 0..<total {
            gradients.zero()
            let lr = schedule.rate(at: step)
            var taskLosses: [Double] = []
            var alignLosses: [Double] = []
            var tokens = 0
            let microBatches =
                recipe.objective == .joint ? 2 * recipe.gradientAccumulation : recipe.gradientAccumulation
            let weight = Float(1) / Float(microBatches)
            for micro in 0..<microBatches {
                let useTask = recipe.objective == .task || (recipe.objective == .joint && micro % 2 == 0)
                if useTask {
                    let examples = taskStream.next().map { data.task[$0].example }
                    tokens += examples.reduce(0) { $0 + $1.ids.count }
                    taskLosses.append(
                        graph.taskLoss(
                            examples, lora: parameters, gradients: gradients, weight: weight, random: &dropout))
                } else {
                    let rows = pairStream.next().map { data.pairs[$0] }
                    tokens += rows.reduce(0) { $0 + $1.side0.count + $1.side1.count }
                    alignLosses.append(
                        alignment(rows, layer: layer, gradients: gradients, weight: weight, random: &dropout))
                }
            }
            let norm = gradients.clip(to: recipe.clipNorm)
            optimizer.step(parameters, gradients, lr: lr)
            var stepReport = StepReport(
                step: step + 1, totalSteps: total, learningRate: lr, taskLoss: mean(taskLosses),
                alignLoss: mean(alignLosses), gradientNorm: norm, tokens: tokens,
                seconds: Date().timeIntervalSince(start))
            if let dev, (step + 1) % max(1, recipe.evaluateEvery) == 0 || step + 1 == total {
                let loss = evaluate(dev, layer: layer)
                stepReport.devLoss = loss
                if loss.isFinite && (best == nil || loss < best!.loss) { best = (loss, parameters.copy()) }
            }
            report(stepReport)
            last = stepReport
        }
        return (best?.parameters ?? parameters, last!, best?.loss)
    }

    private var stepState: (optimizer: Optimizer<Float>, gradients: LoRAParameters<Float>, random: TrainingRandom)?

    /// One optimizer step on the given micro-batches (task first, then pairs),
    /// outside any schedule: for benchmarks and custom loops. The optimizer
    /// state carries over between calls. Returns the mean loss.
    public func step(task examples: [Scoring.Example]?, pairs: [TrainingData.PairRow]?, learningRate: Double) throws
        -> Double
    {
        if stepState == nil {
            stepState = (
                Optimizer<Float>(recipe.optimizer), parameters.zerosLike(),
                TrainingRandom(seed: recipe.seed, stream: "dropout")
            )
        }
        let gradients = stepState!.gradients
        gradients.zero()
        let parts = (examples == nil ? 0 : 1) + (pairs == nil ? 0 : 1)
        guard parts > 0 else { throw TrainingError("a step needs task examples or parallel pairs") }
        let weight = Float(1) / Float(parts)
        var losses: [Double] = []
        if let examples {
            losses.append(
                graph.taskLoss(
                    examples, lora: parameters, gradients: gradients, weight: weight, random: &stepState!.random))
        }
        if let pairs {
            losses.append(
                alignment(
                    pairs, layer: recipe.alignmentLayer(config), gradients: gradients, weight: weight,
                    random: &stepState!.random))
        }
        gradients.clip(to: recipe.clipNorm)
        stepState!.optimizer.step(parameters, gradients, lr: learningRate)
        return losses.reduce(0, +) / Double(losses.count)
    }

    private func alignment(
        _ rows: [TrainingData.PairRow], layer: Int, gradients: LoRAParameters<Float>, weight: Float,
        random: inout TrainingRandom
    ) -> Double {
        graph.alignmentLoss(
            side0: rows.map(\.side0), side1: rows.map(\.side1), layer: layer, temperature: recipe.temperature,
            lora: parameters, gradients: gradients, weight: weight, random: &random)
    }

    /// The objective's loss on `data` with dropout off, in batches (joint: the mean of both).
    public func evaluate(_ data: TrainingData, layer: Int? = nil) -> Double {
        let layer = layer ?? recipe.alignmentLayer(config)
        var random = TrainingRandom(seed: 0, stream: "evaluation")
        var losses: [Double] = []
        if recipe.objective != .align, !data.task.isEmpty {
            var sum = 0.0
            var count = 0
            for start in stride(from: 0, to: data.task.count, by: recipe.batchSize) {
                let rows = data.task[start..<min(start + recipe.batchSize, data.task.count)]
                let loss = evaluation.taskLoss(rows.map(\.example), lora: parameters, gradients: nil, random: &random)
                if loss.isFinite {
                    sum += loss * Double(rows.count)
                    count += rows.count
                }
            }
            losses.append(count > 0 ? sum / Double(count) : .nan)
        }
        if recipe.objective != .task, data.pairs.count >= 2 {
            var sum = 0.0
            var count = 0
            for start in stride(from: 0, to: data.pairs.count, by: recipe.batchSize) {
                let rows = Array(data.pairs[start..<min(start + recipe.batchSize, data.pairs.count)])
                guard rows.count >= 2 else { continue }
                sum +=
                    evaluation.alignmentLoss(
                        side0: rows.map(\.side0), side1: rows.map(\.side1), layer: layer,
                        temperature: recipe.temperature, lora: parameters, gradients: nil,
                        random: &random) * Double(rows.count)
                count += rows.count
            }
            losses.append(count > 0 ? sum / Double(count) : .nan)
        }
        return mean(losses) ?? .nan
    }

    func validate(_ data: TrainingData, name: String) throws {
        let files = data.fileHashes.map(\.path).joined(separator: ", ")
        if recipe.objective != .align && data.task.isEmpty {
            throw TrainingError(
                "the \(name) data (\(files)) has no task rows (prefix, text) for the \(recipe.objective.rawValue) objective"
            )
        }
        if recipe.objective != .task && data.pairs.count < 2 {
            throw TrainingError(
                "the \(name) data (\(files)) needs at least 2 parallel rows (text_parallel_0, text_parallel_1) for the \(recipe.objective.rawValue) objective: the other pairs of a batch are the negatives"
            )
        }
        let ids = data.task.flatMap(\.example.ids) + data.pairs.flatMap { $0.side0 + $0.side1 }
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TrainingError(
                "the \(name) data (\(files)) has token id \(bad), outside the model's vocabulary of \(config.vocabSize): the tokenizer does not belong to this model"
            )
        }
        if recipe.objective != .task && recipe.batchSize < 2 {
            throw TrainingError(
                "alignment needs batches of at least 2 pairs: the other pairs of a batch are the negatives",
                code: .batchTooSmall)
        }
        let layer = recipe.alignmentLayer(config)
        // hidden_states[L] carries the final norm, which the alignment loss does not apply: stop below it.
        if recipe.objective != .task && (layer < 1 || layer >= max(2, config.layerCount))
            && !(config.layerCount == 1 && layer == 1)
        {
            throw TrainingError(
                "the alignment layer \(layer) is outside 1…\(max(1, config.layerCount - 1)) (the states after a block, before the final norm)",
                code: .layerOutOfRange)
        }
    }

    /// The output's metadata: kind, languages, and the whole recipe.
    public func metadata(
        baseModel: String?, data: TrainingData, dataPaths: [String], steps: Int, last: StepReport,
        bestDevLoss: Double?
    ) -> AdapterMetadata {
        let r = recipe
        var recipeJSON: [(key: String, value: JSONValue)] = [
            ("objective", .string(r.objective.rawValue)),
            ("tool", .string(ToolInfo.identifier)),
            ("rank", .int(r.rank)), ("alpha", .number(r.alpha)), ("dropout", .number(r.dropout)),
            ("targets", .array(r.targets.map(JSONValue.string))),
            ("optimizer", .string(r.optimizer.kind.rawValue)), ("lr", .number(r.learningRate)),
            ("betas", .array([.number(r.optimizer.beta1), .number(r.optimizer.beta2)])),
            ("eps", .number(r.optimizer.epsilon)),
            ("weight_decay", .number(r.optimizer.weightDecay)), ("clip_norm", .number(r.clipNorm)),
            ("schedule", .string("inverse_sqrt")), ("warmup_fraction", .number(r.warmupFraction)),
            ("batch_size", .int(r.batchSize)), ("grad_accum", .int(r.gradientAccumulation)),
            ("steps", .int(steps)), ("seed", .int(Int(truncatingIfNeeded: r.seed))),
            ("data", .array(data.fileHashes.map { ["path": .string($0.path), "xxh64": .string($0.xxh64)] })),
            (
                "rows",
                ["task": .int(data.task.count), "pairs": .int(data.pairs.count), "skipped": .int(data.skipped.count)]
            ),
            (
                "final_loss",
                [
                    "task": last.taskLoss.map(JSONValue.number) ?? .null,
                    "align": last.alignLoss.map(JSONValue.number) ?? .null,
                ]
            ),
            ("best_dev_loss", bestDevLoss.map(JSONValue.number) ?? .null),
        ]
        if r.objective != .task {
            recipeJSON.append(("layer", .int(r.alignmentLayer(config))))
            recipeJSON.append(("temperature", .number(r.temperature)))
        }
        if r.promptTokenization != .separate && r.objective != .align {
            recipeJSON.append(("prompt_tokenization", .string(r.promptTokenization.rawValue)))
        }
        if r.objective == .joint {
            // So that check can tell the task languages from the aligned ones.
            recipeJSON.append(("task_languages", .array(data.taskLanguages.map(JSONValue.string))))
            recipeJSON.append(("alignment_languages", .array(data.alignmentLanguages.map(JSONValue.string))))
        }
        return AdapterMetadata(
            kind: r.objective.adapterKind, baseModel: baseModel, languages: data.languages,
            recipe: .object(recipeJSON))
    }

    private func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}

/// Indices of one data stream in shuffled batches, reshuffled on every pass.
public struct BatchStream {
    public let count: Int
    public let batchSize: Int
    private var order: [Int] = []
    private var position = 0
    private var random: TrainingRandom

    public init(count: Int, batchSize: Int, seed: UInt64, name: String) {
        self.init(count: count, batchSize: batchSize, random: TrainingRandom(seed: seed, stream: "shuffle:" + name))
    }

    /// A stream shuffled by `random`.
    public init(count: Int, batchSize: Int, random: TrainingRandom) {
        self.count = count
        self.batchSize = batchSize
        self.random = random
    }

    /// The next batch (smaller only when the data has fewer rows than a batch).
    public mutating func next() -> [Int] {
        var batch: [Int] = []
        while batch.count < min(batchSize, count) {
            if position == order.count {
                order = Array(0..<count)
                random.shuffle(&order)
                position = 0
            }
            batch.append(order[position])
            position += 1
        }
        return batch
    }
}

/// A training run that cannot start, in one line.
public struct TrainingError: AdapterMergeError {
    public typealias Code = ErrorCode<TrainingError>
    public let code: Code
    public let message: String
    public init(_ message: String, code: Code = .refused) {
        self.code = code
        self.message = message
    }
    public var codeName: String { code.description }
}

extension ErrorCode where Domain == TrainingError {
    /// The data, model or recipe cannot be trained on.
    public static let refused = Self("training refused")
    /// The alignment batch holds fewer than two pairs (no negatives).
    public static let batchTooSmall = Self("batch too small")
    /// The alignment layer is not a block's output below the final norm.
    public static let layerOutOfRange = Self("layer out of range")
}
