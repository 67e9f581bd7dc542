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

/// Options shared by every command that writes an adapter.
struct OutputOptions: ParsableArguments {
    @Option(help: "Stored dtype of the factors.")
    var dtype: DTypeChoice = .keep

    @Option(help: "Tensor encoding in .lora output: auto picks byte planes + zstd for floats and falls back to raw when compression saves under 5%.")
    var encoding: EncodingChoice = .auto

    @Option(help: "zstd compression level (1-19).")
    var level: Int32 = Zstd.defaultLevel

    @Flag(help: "Overwrite an existing output.")
    var force = false

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
    }

    var writeOptions: LoraWriteOptions { LoraWriteOptions(encoding: encoding, level: level) }
}
