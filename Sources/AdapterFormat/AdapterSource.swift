import Tensors

/// Where an adapter is stored.
public enum AdapterFormatKind: String, Sendable {
    /// adaptermerge's `.lora` container.
    case lora
    /// A PEFT adapter directory (`adapter_config.json` + `adapter_model.safetensors`).
    case peft
    /// An mlx-lm adapter directory (`adapter_config.json` + `adapters.safetensors`).
    case mlx
    /// A llama.cpp GGUF LoRA adapter.
    case gguf

    /// How the format is named to a user.
    public var displayName: String {
        switch self {
        case .lora: ".lora"
        case .peft: "PEFT directory"
        case .mlx: "mlx-lm directory"
        case .gguf: "GGUF adapter"
        }
    }
}

/// A readable adapter: its modules and metadata up front, its factors one
/// module at a time.
///
/// Commands stream through ``factors(of:)`` so that memory holds one module,
/// not the whole adapter.
public protocol AdapterSource: AnyObject, Sendable {
    /// The path the user gave.
    var location: String { get }
    var format: AdapterFormatKind { get }
    /// Modules in natural path order.
    var modules: [LoraModuleInfo] { get }
    var metadata: AdapterMetadata { get }
    /// Bytes of tensor data as stored on disk.
    var storedBytes: Int { get }
    /// Bytes of tensor data uncompressed.
    var rawBytes: Int { get }
    /// Per tensor: its encoding as stored (for `.lora`) or `raw` (PEFT).
    var encodings: [String: TensorEncoding] { get }
    /// The XXH64 of the adapter's tensor file, as 16 hex digits: its content identity.
    func contentHash() throws -> String
    /// The factors of one module, shape-checked (A: r × in, B: out × r).
    func factors(of module: LoraModuleInfo) throws -> (a: Tensor, b: Tensor)
}

extension AdapterSource {
    /// The module at `path`, if the adapter has one.
    public func module(_ path: String) -> LoraModuleInfo? {
        modules.first { $0.path == path }
    }

    /// Parameters in all factors.
    public var parameterCount: Int { modules.reduce(0) { $0 + $1.parameterCount } }

    /// Whether every module uses rsLoRA scaling.
    public var useRSLoRA: Bool { modules.first?.useRSLoRA ?? false }

    /// The factors of one module, refused (naming the file and module) when
    /// they hold NaN or infinity: every computation on them would be NaN.
    public func finiteFactors(of module: LoraModuleInfo) throws -> (a: Tensor, b: Tensor) {
        let factors = try factors(of: module)
        let bad = factors.a.nonFiniteCount + factors.b.nonFiniteCount
        guard bad == 0 else {
            throw FormatError(
                .invalidContent, "module \(module.path) has \(bad) NaN/Inf values", path: location,
                location: module.path)
        }
        return factors
    }
}

/// Opens an adapter from a `.lora` file, a PEFT directory, or a PEFT
/// directory's `adapter_model.safetensors`, deciding by content, not name.
public enum AdapterReader {
    /// - Parameter layout: the base model's llama.cpp layout, for a GGUF
    ///   adapter that does not carry its head counts (``GGUFAdapterSource``).
    public static func open(_ path: String, layout: LlamaCppLayout? = nil) throws -> any AdapterSource {
        guard FileSystem.exists(path) else {
            throw FormatError(.io, "no such file or directory", path: path)
        }
        if FileSystem.isDirectory(path) {
            if MLXDirectoryAdapter.isMLX(directory: path) { return try MLXDirectoryAdapter(directory: path) }
            return try PEFTDirectoryAdapter(directory: path)
        }
        let file = try MappedFile(path: path)
        if file.count >= 8, Array(file.bytes[0..<8]) == LoraContainer.magic {
            return try LoraFileAdapter(file: file)
        }
        if file.count >= 4, Array(file.bytes[0..<4]) == Array("GGUF".utf8) {
            return try GGUFAdapterSource(file: file, layout: layout)
        }
        let (directory, name) = FileSystem.split(path)
        // mlx-lm writes adapters.safetensors and checkpoints named 0000100_adapters.safetensors.
        if name.hasSuffix(MLXDirectoryAdapter.weightsName) {
            return try MLXDirectoryAdapter(directory: directory, weightsFile: file)
        }
        if name.hasSuffix(".safetensors") {
            return try PEFTDirectoryAdapter(directory: directory, weightsFile: file)
        }
        throw FormatError(
            .notRecognized,
            "not a .lora file, a GGUF adapter, a PEFT or mlx-lm adapter directory, or their safetensors file",
            path: path)
    }
}
