import AdapterFormat
import Foundation
import Tensors
import Transformer

/// Trains a Llama-family base model from scratch, every weight, beside
/// ``Trainer`` (which trains LoRA factors on a frozen one): initialised as
/// transformers does, the causal-LM loss on every token after BOS, AdamW with
/// clipping and the inverse-square-root schedule.
public struct Pretrainer {
    public struct Recipe: Sendable {
        public var steps = 1000
        public var batchSize = 16
        /// Tokens per sequence at most (BOS included).
        public var length = 64
        public var learningRate = 3e-3
        public var warmupFraction = 0.05
        public var weightDecay = 0.0
        public var clipNorm = 1.0
        public var seed: UInt64 = 0
        public init() {}
    }

    public let config: ModelConfig
    /// `config.json` as given; the checkpoint's config is this with its dtype.
    public let configJSON: JSONValue
    /// Where the config came from, for errors.
    public let configPath: String
    public let recipe: Recipe

    /// Refuses, naming `path`, a config this trainer cannot build or this machine cannot hold.
    public init(configJSON: JSONValue, path: String, recipe: Recipe) throws {
        let config = try ModelConfig(json: configJSON, path: path)
        // Weights, gradients and AdamW's two moments, in Float.
        let needed = config.parameterCount.multipliedReportingOverflow(by: 16)
        guard !needed.overflow, needed.partialValue <= PhysicalMemory.bytes / 2 else {
            throw FormatError(
                .invalidContent,
                "the config describes \(config.parameterCount) parameters; pretraining them needs more than half of this machine's memory",
                path: path)
        }
        guard config.modelType != .qwen2, !config.attentionBias, !config.mlpBias, !config.outputBias else {
            throw FormatError(.unsupported, "pretraining supports llama and mistral configs without biases", path: path)
        }
        self.config = config
        self.configJSON = configJSON
        self.configPath = path
        self.recipe = recipe
    }

    /// The training sequences: each row's `field`, tokenized with BOS and cut to the
    /// recipe's length (and the context); rows of fewer than two tokens are dropped.
    public func examples(_ rows: [DataRow], field: String, tokenizer: Tokenizer) throws -> [Scoring.Example] {
        guard tokenizer.vocabularySize <= config.vocabSize else {
            throw FormatError(
                .invalidContent,
                "vocab_size \(config.vocabSize) is smaller than the tokenizer's \(tokenizer.vocabularySize) ids",
                path: configPath)
        }
        let examples = try rows.compactMap { row -> Scoring.Example? in
            let ids = Array(
                try row.tokens(field, tokenizer: tokenizer).prefix(min(recipe.length, config.maxPositionEmbeddings)))
            return ids.count > 1 ? Scoring.Example(ids: ids, promptLength: 1) : nil
        }
        guard !examples.isEmpty else {
            throw FormatError(.malformed, "no rows with at least two tokens", path: rows.first?.file)
        }
        return examples
    }

    /// Runs the schedule; `report` sees every step. Returns the trained weights.
    public func run(_ examples: [Scoring.Example], report: (StepReport) throws -> Void) rethrows -> FrozenWeights<Float>
    {
        let r = recipe
        let weights = FrozenWeights<Float>(randomFor: config, seed: r.seed)
        let gradients = BaseGradients(like: weights)
        let graph = TrainingGraph(
            weights: weights, options: .init(dropout: 0, threads: ProcessorCount.available), baseGradients: gradients)
        let lora = LoRAParameters<Float>.none(layers: config.layerCount)
        let loraGradients = lora.zerosLike()
        let optimizer = Optimizer<Float>(.init(kind: .adamw, weightDecay: r.weightDecay))
        let schedule = LearningRateSchedule(
            peak: r.learningRate, warmupSteps: Int((Double(r.steps) * r.warmupFraction).rounded(.up)))
        var stream = BatchStream(
            count: examples.count, batchSize: r.batchSize,
            random: TrainingRandom(seed: r.seed, stream: "pretrain-shuffle"))
        var dropout = TrainingRandom(seed: r.seed, stream: "dropout")
        let start = Date()
        for step in 0..<r.steps {
            let batch = stream.next().map { examples[$0] }
            gradients.zero()
            let loss = graph.taskLoss(batch, lora: lora, gradients: loraGradients, random: &dropout)
            let norm = GradientClipping.clip(gradients.tensors, to: r.clipNorm)
            let rate = schedule.rate(at: step)
            optimizer.step(weights.trainableTensors, gradients.tensors, lr: rate)
            try report(
                StepReport(
                    step: step + 1, totalSteps: r.steps, learningRate: rate, taskLoss: loss, alignLoss: nil,
                    gradientNorm: norm, tokens: batch.reduce(0) { $0 + $1.ids.count },
                    seconds: Date().timeIntervalSince(start)))
        }
        return weights
    }

    /// Writes a transformers model directory: config.json (with the stored dtype),
    /// model.safetensors and the tokenizer's two files, swapped into place whole.
    /// Weights holding NaN/Inf (a diverged run) are refused, naming the tensor.
    public func write(
        _ weights: FrozenWeights<Float>, dtype: DType, tokenizerDirectory: String, to output: String, overwrite: Bool
    ) throws {
        let out = try AtomicDirectoryWriter(destination: output, overwrite: overwrite, marker: "config.json")
        let tensors = try weights.checkpointTensors(dtype: dtype)
        if let bad = tensors.first(where: { $0.tensor.nonFiniteCount > 0 }) {
            throw FormatError(
                .invalidContent,
                "training diverged: \(bad.name) holds NaN/Inf values (a lower learning rate?); nothing written",
                path: output, location: bad.name)
        }
        try SafeTensorsWriter.write(
            tensors, metadata: ["format": "pt"], to: out.path("model.safetensors"), overwrite: true)
        var fields = configJSON.objectValue ?? []
        fields.removeAll { ["dtype", "torch_dtype"].contains($0.key) }
        fields.append((key: "dtype", value: .string(dtype == .bf16 ? "bfloat16" : "float32")))
        if !fields.contains(where: { $0.key == "architectures" }) {
            fields.append(
                (
                    key: "architectures",
                    value: [.string(config.modelType == .mistral ? "MistralForCausalLM" : "LlamaForCausalLM")]
                ))
        }
        let files: [(String, [UInt8])] =
            [("config.json", Array((JSONValue.object(fields).prettyText(indent: 2) + "\n").utf8))]
            + (try ["tokenizer.json", "tokenizer_config.json"].map {
                ($0, try FileSystem.readFile(FileSystem.join(tokenizerDirectory, $0), limit: 512 << 20))
            })
        for (name, bytes) in files {
            try AtomicFileWriter.write(bytes, to: out.path(name), overwrite: true)
        }
        try out.commit()
    }
}
