/// What an adapter output is written as.
public enum AdapterOutputFormat: String, Sendable, CaseIterable {
    /// adaptermerge's `.lora` container.
    case lora
    /// A PEFT adapter directory.
    case peft
    /// An mlx-lm adapter directory.
    case mlx

    /// The format `path` asks for when none is named: a path ending in `.lora`
    /// is a `.lora` file, anything else a PEFT directory.
    public static func of(_ path: String, requested: AdapterOutputFormat? = nil) -> AdapterOutputFormat {
        if let requested { return requested }
        return path.hasSuffix(".lora") && !path.hasSuffix("/") ? .lora : .peft
    }

    /// The file that marks a directory of this format (what `--force` may replace).
    var directoryMarker: String? {
        switch self {
        case .lora: nil
        case .peft: PEFTDirectoryAdapter.configName
        case .mlx: MLXDirectoryAdapter.weightsName
        }
    }
}
