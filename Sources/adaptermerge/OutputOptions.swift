import ArgumentParser
import AdapterFormat
import Tensors

/// The stored dtype of written factors.
enum DTypeChoice: String, ExpressibleByArgument, CaseIterable {
    case keep, f32, bf16, f16

    var dtype: DType? {
        switch self {
        case .keep: return nil
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
    @Option(help: "Stored dtype of the factors.")
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
        help: "Output format: lora, peft or mlx (default: lora for a path ending in .lora, else peft).")
    var outputFormat: AdapterOutputFormat?

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
    }

    var writeOptions: LoraWriteOptions { LoraWriteOptions(encoding: encoding, level: level, format: outputFormat) }
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
