import ArgumentParser
import AdapterFormat
import Foundation
import Tensors
import Training
import Transformer

struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a Llama-family base model from scratch (every weight) and write a transformers model directory.",
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
        guard steps > 0, batchSize > 0, length > 1 else { throw ValidationError("--steps, --batch-size and --length must be positive (--length at least 2)") }
        guard lr > 0, lr.isFinite, clip > 0, clip.isFinite, (0...1).contains(warmup) else {
            throw ValidationError("--lr and --clip must be positive and finite, --warmup in [0, 1]")
        }
        guard weightDecay >= 0, weightDecay.isFinite else { throw ValidationError("--weight-decay must be a finite number, not negative") }
        guard batchSize <= 65536, length <= 1 << 20 else { throw ValidationError("--batch-size is at most 65536, --length at most 1048576") }
        _ = try OptionList.items(data, option: "--data")
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16") }
    }

    func run() throws {
        try FileSystem.checkOutput(output, kind: .directory(marker: "config.json"), overwrite: replace.force)
        try OutputFiles.check([log], force: replace.force)
        let configJSON = try FileSystem.readJSON(config)
        let modelConfig = try ModelConfig(json: configJSON, path: config)
        // Weights, gradients and AdamW's two moments, in Float.
        let needed = modelConfig.parameterCount.multipliedReportingOverflow(by: 16)
        guard !needed.overflow, needed.partialValue <= PhysicalMemory.bytes / 2 else {
            throw FormatError(.invalidContent, "the config describes \(modelConfig.parameterCount) parameters; pretraining them needs more than half of this machine's memory",
                              path: config)
        }
        guard modelConfig.modelType != .qwen2, !modelConfig.attentionBias, !modelConfig.mlpBias, !modelConfig.outputBias else {
            throw FormatError(.unsupported, "pretraining supports llama and mistral configs without biases", path: config)
        }
        let tok = try Tokenizer(directory: tokenizer)
        guard tok.vocabularySize <= modelConfig.vocabSize else {
            throw FormatError(.invalidContent, "vocab_size \(modelConfig.vocabSize) is smaller than the tokenizer's \(tok.vocabularySize) ids", path: config)
        }
        let rows = try OptionList.items(data, option: "--data").flatMap { try JSONLines.read($0) }
        let examples = try rows.compactMap { row -> Scoring.Example? in
            let ids = Array(try tok.encode(try row.string(field)).prefix(min(length, modelConfig.maxPositionEmbeddings)))
            return ids.count > 1 ? Scoring.Example(ids: ids, promptLength: 1) : nil
        }
        guard !examples.isEmpty else { throw FormatError(.malformed, "no rows with at least two tokens", path: data) }

        let weights = FrozenWeights<Float>(randomFor: modelConfig, seed: seed)
        let gradients = BaseGradients(like: weights)
        let graph = TrainingGraph(weights: weights, options: .init(dropout: 0, threads: ProcessorCount.available),
                                  baseGradients: gradients)
        let lora = LoRAParameters<Float>.none(layers: modelConfig.layerCount), loraGradients = lora.zerosLike()
        let optimizer = Optimizer<Float>(.init(kind: .adamw, weightDecay: weightDecay))
        let schedule = LearningRateSchedule(peak: lr, warmupSteps: Int((Double(steps) * warmup).rounded(.up)))
        var stream = BatchStream(count: examples.count, batchSize: batchSize,
                                 random: TrainingRandom(seed: seed, stream: "pretrain-shuffle"))
        var dropout = TrainingRandom(seed: seed, stream: "dropout")
        let logFile = try log.map { try AtomicFileWriter(destination: $0, overwrite: replace.force) }
        let display = TrainingDisplay(total: steps)
        let start = Date()
        var first = Double.nan, last = Double.nan
        for step in 0..<steps {
            let batch = stream.next().map { examples[$0] }
            gradients.zero()
            let loss = graph.taskLoss(batch, lora: lora, gradients: loraGradients, random: &dropout)
            let norm = GradientClipping.clip(gradients.tensors, to: clip)
            let rate = schedule.rate(at: step)
            optimizer.step(weights.trainableTensors, gradients.tensors, lr: rate)
            if step == 0 { first = loss }
            last = loss
            let report = StepReport(step: step + 1, totalSteps: steps, learningRate: rate, taskLoss: loss, alignLoss: nil,
                                    gradientNorm: norm, tokens: batch.reduce(0) { $0 + $1.ids.count },
                                    seconds: Date().timeIntervalSince(start))
            display.show(report)
            if let logFile { try logFile.write(Array((TrainingDisplay.json(report).compactText + "\n").utf8)) }
        }
        display.finish()
        try write(weights, configJSON: configJSON)
        try logFile?.commit()
        print("pretrained \(steps) steps in \(Format.fixed(Date().timeIntervalSince(start), 1)) s on \(examples.count) sequences; loss \(Format.fixed(first, 4)) → \(Format.fixed(last, 4))")
        print("wrote \(output)")
    }

    /// config.json (with the stored dtype), model.safetensors and the tokenizer files, assembled beside the output and moved into place.
    func write(_ weights: FrozenWeights<Float>, configJSON: JSONValue) throws {
        let out = try AtomicDirectoryWriter(destination: output, overwrite: replace.force, marker: "config.json")
        let stored: DType = dtype == "bf16" ? .bf16 : .f32
        let tensors = try weights.checkpointTensors(dtype: stored)
        if let bad = tensors.first(where: { $0.tensor.nonFiniteCount > 0 }) {
            throw FormatError(.invalidContent, "training diverged: \(bad.name) holds NaN/Inf values (lower --lr?); nothing written",
                              path: output, location: bad.name)
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"],
                                    to: out.path("model.safetensors"), overwrite: true)
        var fields = configJSON.objectValue ?? []
        fields.removeAll { ["dtype", "torch_dtype"].contains($0.key) }
        fields.append((key: "dtype", value: .string(dtype == "bf16" ? "bfloat16" : "float32")))
        if !fields.contains(where: { $0.key == "architectures" }) {
            fields.append((key: "architectures", value: [.string(weights.config.modelType == .mistral ? "MistralForCausalLM" : "LlamaForCausalLM")]))
        }
        let files: [(String, [UInt8])] = [("config.json", Array((JSONValue.object(fields).prettyText(indent: 2) + "\n").utf8))]
            + (try ["tokenizer.json", "tokenizer_config.json"].map { ($0, try FileSystem.readFile(FileSystem.join(tokenizer, $0), limit: 512 << 20)) })
        for (name, bytes) in files {
            try AtomicFileWriter.write(bytes, to: out.path(name), overwrite: true)
        }
        try out.commit()
    }
}
