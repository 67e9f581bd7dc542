import ArgumentParser
import AdapterFormat
import Transformer

/// `--model` and repeated `--adapter file[:weight]`, shared by the runtime commands.
struct ModelOptions: ParsableArguments {
    @Option(help: "A Hugging Face model directory (config.json, safetensors weights, tokenizer.json) or a GGUF file.")
    var model: String

    @Option(
        name: .customLong("adapter"),
        help: "A LoRA adapter to apply unmerged, as file[:weight] (repeatable; weight defaults to 1).")
    var adapters: [AdapterSpec] = []

    /// `--batch-size`'s help, shared with `tune`, which keeps options of its own.
    static let batchSizeHelp: ArgumentHelp =
        "Sequences per forward pass (packed, without padding), and prompts decoded together per core."

    @Option(help: batchSizeHelp)
    var batchSize: Int = 8

    @OptionGroup var memory: WeightMemoryOption

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    /// The model, its tokenizer, the adapters (each opened once) and their stack.
    struct Loaded {
        let model: TransformerModel
        let tokenizer: Tokenizer
        let sources: [(source: any AdapterSource, weight: Double)]
        let adapters: AdapterStack
    }

    func load() throws -> Loaded {
        let model = try TransformerModel(path: self.model, residency: memory.weightMemory)
        let tokenizer = try Tokenizer(model: self.model)
        let sources = try adapters.map { try $0.open() }
        return Loaded(
            model: model, tokenizer: tokenizer, sources: sources,
            adapters: try AdapterStack(adapters: sources, config: model.config))
    }
}

extension Scoring.PromptTokenization: ExpressibleByArgument {}

/// `--prompt-tokenization`, for every command that scores or trains on task rows.
struct PromptOption: ParsableArguments {
    @Option(
        help: """
            separate (default): [BOS] + prefix and text tokenized apart, the boundary exact; joint: prefix + text \
            tokenized together, masking len(tokenizer(prefix)) tokens, as the paper's reference code does.
            """)
    var promptTokenization: Scoring.PromptTokenization = .separate
}

extension WeightResidency: ExpressibleByArgument {}

/// `--weight-memory`, for every command that runs the model.
struct WeightMemoryOption: ParsableArguments {
    @Option(
        help: """
            auto (default): widened when the model in f32 fits a quarter of memory, else stored; widened: every \
            weight widened to f32 at load (fastest, 4 bytes a parameter); stored: weights kept as the file stores \
            them, memory-mapped, and widened one projection group at a time (a few hundred MB for an 8B model).
            """)
    var weightMemory: WeightResidency = .auto
}
