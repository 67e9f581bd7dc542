import ArgumentParser
import AdapterFormat
import Foundation
import Tensors
import Training
import Transformer

struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Train a Llama-family base model from scratch (every weight) and write a transformers model directory.",
        discussion: """
            The model is the one --config describes (a transformers config.json:
            model_type llama or mistral, no biases), initialised as transformers
            does (normal 0.02, norms 1), and trained with the causal-LM loss on
            every token after BOS of the --data rows, cut to --length tokens.
            AdamW with clipping and the inverse-square-root schedule, as train.
            The output directory has config.json, model.safetensors and the
            tokenizer files, so transformers and adaptermerge load it.

            Examples:
              adaptermerge example world -o world/ && adaptermerge example tokenizer --data world/pretrain.jsonl -o tok/
              adaptermerge pretrain --config config.json --tokenizer tok/ --data world/pretrain.jsonl -o base/ --steps 2000
            """
    )

    @Option(help: "A transformers config.json for the model to create.") var config: String
    @Option(help: "A directory with tokenizer.json and tokenizer_config.json.") var tokenizer: String
    @Option(help: "Comma-separated JSON-lines files.") var data: String
    @Option(help: "The string field of each row.") var field = "text"
    @Option(name: .shortAndLong, help: "The model directory to write.") var output: String
    @Option(help: "Optimizer steps.") var steps = 1000
    @Option(help: "Sequences per step.") var batchSize = 16
    @Option(help: "Tokens per sequence at most (BOS included).") var length = 64
    @Option(help: "Peak learning rate.") var lr = 3e-3
    @Option(help: "Warm-up as a fraction of the steps.") var warmup = 0.05
    @Option(help: "AdamW weight decay.") var weightDecay = 0.0
    @Option(help: "Clip the global gradient norm to this.") var clip = 1.0
    @Option(help: "Seed for initialisation and shuffling.") var seed: UInt64 = 0
    @Option(help: "Stored dtype: f32 or bf16.") var dtype = "f32"
    @Option(help: "Write one JSON line per step to this file.") var log: String?
    @OptionGroup var replace: ForceOption

    func validate() throws {
        guard steps <= Trainer.maximumSteps else { throw ValidationError("--steps is at most \(Trainer.maximumSteps)") }
        guard steps > 0, batchSize > 0, length > 1 else {
            throw ValidationError("--steps, --batch-size and --length must be positive (--length at least 2)")
        }
        guard lr > 0, lr.isFinite, clip > 0, clip.isFinite, (0...1).contains(warmup) else {
            throw ValidationError("--lr and --clip must be positive and finite, --warmup in [0, 1]")
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw ValidationError("--weight-decay must be a finite number, not negative")
        }
        guard batchSize <= 65536, length <= 1 << 20 else {
            throw ValidationError("--batch-size is at most 65536, --length at most 1048576")
        }
        _ = try OptionList.items(data, option: "--data")
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16") }
    }

    func run() throws {
        try FileSystem.checkOutput(output, kind: .directory(marker: "config.json"), overwrite: replace.force)
        try OutputFiles.check([log], force: replace.force)
        var recipe = Pretrainer.Recipe()
        (recipe.steps, recipe.batchSize, recipe.length, recipe.learningRate) = (steps, batchSize, length, lr)
        (recipe.warmupFraction, recipe.weightDecay, recipe.clipNorm, recipe.seed) = (warmup, weightDecay, clip, seed)
        let pretrainer = try Pretrainer(configJSON: try FileSystem.readJSON(config), path: config, recipe: recipe)
        let rows = try OptionList.items(data, option: "--data").flatMap { try JSONLines.read($0) }
        let examples = try pretrainer.examples(rows, field: field, tokenizer: try Tokenizer(directory: tokenizer))

        let logFile = try log.map { try AtomicFileWriter(destination: $0, overwrite: replace.force) }
        let display = TrainingDisplay(total: steps)
        var first = Double.nan
        var last = StepReport?.none
        let weights = try pretrainer.run(examples) { report in
            if report.step == 1 { first = report.taskLoss ?? .nan }
            last = report
            display.show(report)
            if let logFile { try logFile.write(Array((TrainingDisplay.json(report).compactText + "\n").utf8)) }
        }
        display.finish()
        try pretrainer.write(
            weights, dtype: dtype == "bf16" ? .bf16 : .f32, tokenizerDirectory: tokenizer, to: output,
            overwrite: replace.force)
        try logFile?.commit()
        print(
            "pretrained \(steps) steps in \(Format.fixed(last?.seconds ?? 0, 1)) s on \(examples.count) sequences; loss \(Format.fixed(first, 4)) → \(Format.fixed(last?.taskLoss ?? .nan, 4))"
        )
        print("wrote \(output)")
    }
}
