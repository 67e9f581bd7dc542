import ArgumentParser
import Transformer
import AdapterFormat
import Tensors

/// The stored dtype of written factors.
enum DTypeChoice: String, ExpressibleByArgument, CaseIterable {
    case keep, f32, bf16, f16
    /// GGUF adapters only: lora_a as Q8_0, lora_b in f32.
    case q8_0

    var dtype: DType? {
        switch self {
        case .keep, .q8_0: return nil
        case .f32: return .f32
        case .bf16: return .bf16
        case .f16: return .f16
        }
    }
}

extension EncodingChoice: ExpressibleByArgument {}
extension AdapterKind: ExpressibleByArgument {}

/// How a written adapter is stored: every command that writes one takes these.
struct AdapterEncodingOptions: ParsableArguments {
    @Option(help: "Stored dtype of the factors (q8_0: GGUF adapters only, for lora_a).")
    var dtype: DTypeChoice = .keep

    @Option(
        help:
            "Tensor encoding in .lora output: auto picks byte planes + zstd for floats and falls back to raw when compression saves under 5%."
    )
    var encoding: EncodingChoice = .auto

    @Option(help: "zstd compression level (1-19).")
    var level: Int32 = Zstd.defaultLevel

    @Option(
        name: .customLong("format"),
        help:
            "Output format: lora, peft, mlx or gguf (default: lora for a path ending in .lora, gguf for .gguf, else peft)."
    )
    var outputFormat: AdapterOutputFormat?

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
    }

    var writeOptions: LoraWriteOptions { writeOptions(model: nil) }

    /// The write options, with the llama.cpp layout of `model` (the config of
    /// `--model`), which a GGUF adapter needs.
    func writeOptions(model: ModelConfig?) -> LoraWriteOptions {
        var options = LoraWriteOptions(encoding: encoding, level: level, format: outputFormat)
        options.llamaCpp = model?.llamaCppLayout
        options.quantizeA = dtype == .q8_0
        return options
    }

}

/// `--force`: the one flag that lets a command replace what it writes (a file,
/// or a directory of the same kind; never anything else).
struct ForceOption: ParsableArguments {
    @Flag(help: "Replace existing outputs of this command.")
    var force = false
}

/// `--json`: print JSON instead of text (the command's description lists the keys).
struct JSONOption: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}

extension AdapterOutputFormat: ExpressibleByArgument {}

/// `--model` for commands that read or write adapters without running a model:
/// a GGUF adapter is laid out for its base model's architecture and heads.
struct BaseModelOption: ParsableArguments {
    @Option(
        help:
            "The base model (a Hugging Face directory or a GGUF file), for GGUF adapters: its architecture and head counts."
    )
    var model: String?

    /// The model's config, when given.
    func config() throws -> ModelConfig? { try model.map { try ModelConfig(path: $0) } }
}
