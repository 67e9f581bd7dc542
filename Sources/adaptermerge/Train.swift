import ArgumentParser
import AdapterFormat
import Foundation
import Training
import Transformer

extension TrainingObjective: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a task, alignment or joint LoRA adapter on a frozen base model.",
        discussion: """
            task   response-only causal-LM loss on rows with "prefix" and "text"
                   (BOS and the prefix are masked)
            align  InfoNCE at layer ℓ (default: the middle, L/2) on rows with
                   "text_parallel_0" (non-English) and "text_parallel_1" (English):
                   mean-pooled states, cosine / --temperature, in-batch negatives
            joint  both, alternating every micro-batch, task first; one optimizer
                   step accumulates both

            Defaults follow docs/DESIGN.md §6: r 8, alpha 16, dropout 0.1 on all seven
            projections; AdamW (0.9, 0.999, 1e-8), lr 5e-4, clipping at 1.0, the
            inverse-square-root schedule with 3% warm-up. The same seed gives the
            same adapter bit for bit on the same machine with the same core count.

            Examples:
              adaptermerge train task --model model/ --data task.jsonl -o task.lora
              adaptermerge train align --model model/ --data parallel.jsonl --layer middle -o align.lora
              adaptermerge train joint --model model/ --data task.jsonl,parallel.jsonl --dev dev.jsonl -o joint.lora --log curve.jsonl
            """
    )

    @Argument(help: "task, align or joint.")
    var objective: TrainingObjective

    @Option(help: "A Hugging Face model directory (config.json, safetensors weights, tokenizer.json) or a GGUF file.")
    var model: String

    @Option(help: "Comma-separated JSON-lines training files.")
    var data: String

    @Option(name: .shortAndLong, help: "Output: a .lora file, or a PEFT directory (any other name).")
    var output: String

    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "LoRA alpha (scaling alpha / rank).") var alpha = 16.0
    @Option(help: "LoRA dropout on the input of each A.") var dropout = 0.1
    @Option(help: "Comma-separated projections: q,k,v,o,gate,up,down (or the full names).")
    var targets = "q,k,v,o,gate,up,down"

    @Option(help: "Passes over the training data (ignored with --steps).") var epochs = 1.0
    @Option(help: "Optimizer steps (overrides --epochs).") var steps: Int?
    @Option(help: "Peak learning rate.") var lr = 5e-4
    @Option(help: "Sequences (or parallel pairs) per micro-batch.") var batchSize = 8
    @Option(help: "Micro-batches per optimizer step (per objective for joint).") var gradAccum = 1
    @Option(help: "adamw or sgd.") var optimizer: OptimizerKind = .adamw
    @Option(help: "AdamW weight decay.") var weightDecay = 0.0
    @Option(help: "Clip the global gradient norm to this (0: off).") var clip = 1.0
    @Option(help: "Warm-up as a fraction of the steps.") var warmup = 0.03
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 0

    @Option(
        help:
            "Alignment layer: a hidden_states index from 1 to L-1 (a block's output before the final norm), or middle (L/2)."
    )
    var layer = "middle"
    @Option(help: "InfoNCE temperature τ.") var temperature = 0.1

    @Option(
        help: "Comma-separated JSON-lines dev files: evaluated every --eval-every steps; the best checkpoint is kept.")
    var dev: String?
    @Option(help: "Steps between dev evaluations.") var evalEvery = 50
    @Option(name: .customLong("init"), help: "Continue from this adapter (.lora or PEFT) instead of a fresh one.")
    var initial: String?
    @Option(help: "Write one JSON line per step (losses, lr, gradient norm, tokens/s) to this file.") var log: String?
    @Flag(help: "Skip rows that are malformed or too long (they are counted), instead of stopping.") var skipBadRows =
        false
    @Flag(help: "Recompute activations in the backward pass (less memory, about a third more time).") var recompute =
        false
    @OptionGroup var prompt: PromptOption
    @OptionGroup var memory: WeightMemoryOption
    @OptionGroup var encoding: AdapterEncodingOptions
    @OptionGroup var replace: ForceOption

    static let projectionAliases = [
        "q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj",
        "gate": "gate_proj", "up": "up_proj", "down": "down_proj",
    ]

    var targetNames: [String] {
        get throws {
            try OptionList.items(targets, option: "--targets").map { name in
                let full = Train.projectionAliases[name] ?? name
                guard LoRAParameters<Float>.allProjections.contains(full) else {
                    throw ValidationError("--targets: \"\(name)\" is not one of q, k, v, o, gate, up, down")
                }
                return full
            }
        }
    }

    func validate() throws {
        guard rank > 0 else { throw ValidationError("--rank must be positive") }
        guard alpha > 0, alpha <= 1e6 else { throw ValidationError("--alpha must be in (0, 1e6]") }
        guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must be in [0, 1)") }
        guard epochs > 0, epochs.isFinite else { throw ValidationError("--epochs must be positive") }
        if let steps, !(1...Trainer.maximumSteps).contains(steps) {
            throw ValidationError("--steps must be between 1 and \(Trainer.maximumSteps)")
        }
        guard epochs <= 1e4 else { throw ValidationError("--epochs is at most 10000") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard gradAccum > 0 else { throw ValidationError("--grad-accum must be positive") }
        guard clip >= 0, clip.isFinite else { throw ValidationError("--clip must be a finite number, not negative") }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw ValidationError("--weight-decay must be a finite number, not negative")
        }
        guard temperature <= 1e6 else { throw ValidationError("--temperature must be at most 1e6") }
        guard batchSize <= 65536, gradAccum <= 65536 else {
            throw ValidationError("--batch-size and --grad-accum are at most 65536")
        }
        _ = try OptionList.items(data, option: "--data")
        if let dev { _ = try OptionList.items(dev, option: "--dev") }
        guard warmup >= 0, warmup <= 1 else { throw ValidationError("--warmup must be in [0, 1]") }
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be positive") }
        guard evalEvery > 0 else { throw ValidationError("--eval-every must be positive") }
        if layer != "middle" && Int(layer) == nil { throw ValidationError("--layer must be a layer index or middle") }
        _ = try targetNames
    }

    func run() throws {
        // Everything that can be refused is refused before the weights load and training starts.
        try AdapterWriter.checkOutput(output, format: encoding.outputFormat, overwrite: replace.force)
        try OutputFiles.check([log], force: replace.force)
        let config = try ModelConfig(path: model)
        if let largest = try targetNames.compactMap({ config.projectionShape($0) }).map({ min($0.out, $0.in) }).min(),
            rank > largest
        {
            throw ValidationError(
                "--rank \(rank) is larger than the smallest targeted projection (\(largest) wide in \(model))")
        }
        let transformer = try TransformerModel(path: model, residency: memory.weightMemory)
        let tokenizer = try Tokenizer(model: model)
        let maxLength = transformer.config.maxPositionEmbeddings
        let paths = try OptionList.items(data, option: "--data")
        let trainingData = try Self.withSkipAdvice {
            try TrainingData(
                paths: paths, tokenizer: tokenizer, maxLength: maxLength, skipBadRows: skipBadRows,
                prompt: prompt.promptTokenization)
        }
        for line in trainingData.skipped.prefix(5) { Terminal.warning("skipped \(line)") }
        if trainingData.skipped.count > 5 { Terminal.warning("skipped \(trainingData.skipped.count - 5) more rows") }
        let devData = try dev.map { dev in
            try Self.withSkipAdvice {
                try TrainingData(
                    paths: try OptionList.items(dev, option: "--dev"), tokenizer: tokenizer, maxLength: maxLength,
                    skipBadRows: skipBadRows, prompt: prompt.promptTokenization)
            }
        }

        var recipe = TrainingRecipe(objective: objective)
        recipe.rank = rank
        recipe.alpha = alpha
        recipe.dropout = dropout
        recipe.targets = try targetNames
        recipe.steps = steps
        recipe.epochs = epochs
        recipe.learningRate = lr
        recipe.batchSize = batchSize
        recipe.gradientAccumulation = gradAccum
        recipe.optimizer = .init(kind: optimizer, weightDecay: weightDecay)
        recipe.clipNorm = clip == 0 ? .infinity : clip
        recipe.warmupFraction = warmup
        recipe.seed = seed
        recipe.layer = Int(layer)
        recipe.temperature = temperature
        recipe.evaluateEvery = evalEvery
        recipe.recompute = recompute
        recipe.promptTokenization = prompt.promptTokenization

        let initialParameters = try initial.map {
            try LoRAParameters<Float>.loaded(
                from: try AdapterReader.open($0, layout: transformer.config.llamaCppLayout), config: transformer.config)
        }
        let trainer = Trainer(model: transformer, recipe: recipe, initial: initialParameters)
        let total = trainer.totalSteps(trainingData)
        guard total <= Trainer.maximumSteps else {
            throw ValidationError("--epochs \(epochs) makes \(total) steps, more than \(Trainer.maximumSteps)")
        }
        let logFile = try log.map { try AtomicFileWriter(destination: $0, overwrite: replace.force) }
        let display = TrainingDisplay(total: total)
        let result = try trainer.run(trainingData, dev: devData) { step in
            display.show(step)
            if let logFile { try? logFile.write(Array((TrainingDisplay.json(step).compactText + "\n").utf8)) }
        }
        display.finish()
        let metadata = trainer.metadata(
            baseModel: try ModelIdentity.of(path: model), data: trainingData, dataPaths: paths,
            steps: total, last: result.last, bestDevLoss: result.bestDevLoss)
        try result.best.write(
            to: output, metadata: metadata, overwrite: replace.force, dtype: encoding.dtype.dtype,
            options: encoding.writeOptions(model: transformer.config))
        try logFile?.commit()
        print(
            TrainingDisplay.summary(
                result.last, bestDevLoss: result.bestDevLoss, output: output,
                parameters: result.best.parameterCount, data: trainingData))
    }
}

extension Train {
    /// Adds the flag that skips a bad data row to the error about one.
    static func withSkipAdvice<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as FormatError where error.location?.hasPrefix("line ") == true {
            throw FormatError(
                error.code, error.message + " (use --skip-bad-rows to skip such rows)", path: error.path,
                location: error.location)
        }
    }
}
