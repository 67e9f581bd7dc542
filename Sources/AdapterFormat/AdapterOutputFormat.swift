/// What an adapter output is written as.
public enum AdapterOutputFormat: String, Sendable, CaseIterable {
    /// adaptermerge's `.lora` container.
    case lora
    /// A PEFT adapter directory.
    case peft
    /// An mlx-lm adapter directory.
    case mlx
    /// A llama.cpp GGUF LoRA adapter file.
    case gguf

    /// The format `path` asks for when none is named: a path ending in `.lora`
    /// is a `.lora` file, one ending in `.gguf` a GGUF adapter, anything else a
    /// PEFT directory.
    public static func of(_ path: String, requested: AdapterOutputFormat? = nil) -> AdapterOutputFormat {
        if let requested { return requested }
        if path.hasSuffix("/") { return .peft }
        return path.hasSuffix(".lora") ? .lora : path.hasSuffix(".gguf") ? .gguf : .peft
    }

    /// The file that marks a directory of this format (what `--force` may replace).
    var directoryMarker: String? {
        switch self {
        case .lora, .gguf: nil
        case .peft: PEFTDirectoryAdapter.configName
        case .mlx: MLXDirectoryAdapter.weightsName
        }
    }
}
