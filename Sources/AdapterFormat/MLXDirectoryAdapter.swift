import Tensors

/// An adapter as mlx-lm saves it: `adapters.safetensors` and `adapter_config.json`.
///
/// mlx-lm's `LoRALinear` computes `y + scale · (x · lora_a) · lora_b` with
/// `lora_a` (in × r) and `lora_b` (r × out), so `ΔW = scale · lora_bᵀ · lora_aᵀ`:
/// A = `lora_a`ᵀ and B = `lora_b`ᵀ in PEFT's layout, and a module's scaling
/// is `lora_parameters.scale` (alpha = scale · r). Keys are the module paths
/// with `.lora_a`/`.lora_b` (`model.layers.0.self_attn.q_proj.lora_a`). DoRA
/// and full fine-tunes are refused by name. When the file carries
/// adaptermerge's metadata (an export of this tool), each module's alpha comes
/// from it, so `.lora` → MLX → `.lora` is exact.
public final class MLXDirectoryAdapter: SafeTensorsAdapter, @unchecked Sendable {
    public static let configName = "adapter_config.json"
    public static let weightsName = "adapters.safetensors"
    /// The safetensors metadata key holding adaptermerge's metadata.
    public static let metadataKey = "adaptermerge"

    public let location: String
    public let format = AdapterFormatKind.mlx
    public let modules: [LoraModuleInfo]
    public let metadata: AdapterMetadata
    public let weights: SafeTensorsFile
    let file: MappedFile

    /// Whether `directory` looks like an mlx-lm adapter (its weights file is there).
    public static func isMLX(directory: String) -> Bool {
        FileSystem.isRegularFile(FileSystem.join(directory, weightsName))
    }

    public convenience init(directory: String) throws {
        try self.init(
            directory: directory,
            weightsFile: try MappedFile(path: FileSystem.join(directory, MLXDirectoryAdapter.weightsName)))
    }

    public init(directory: String, weightsFile: MappedFile) throws {
        file = weightsFile
        location = directory
        let configPath = FileSystem.join(directory, MLXDirectoryAdapter.configName)
        guard FileSystem.isRegularFile(configPath) else {
            throw FormatError(
                .notRecognized,
                "not an mlx-lm adapter: \(MLXDirectoryAdapter.configName) is missing next to the weights",
                path: directory)
        }
        let config = try JSONFields(
            try FileSystem.readJSON(configPath, limit: 16 << 20), path: configPath, what: "an mlx-lm adapter config")
        let kind = try config.string("fine_tune_type") ?? "lora"
        guard kind == "lora" else {
            throw FormatError(
                .unsupported, "fine_tune_type \"\(kind)\" is not supported (lora)", path: configPath,
                location: "fine_tune_type")
        }
        guard let parameters = try config.object("lora_parameters") else {
            throw FormatError(.malformed, "lora_parameters is missing", path: configPath, location: "lora_parameters")
        }
        guard let scale = try parameters.double("scale"), scale.isFinite else {
            throw FormatError(
                .malformed, "lora_parameters.scale is missing or not finite", path: configPath,
                location: "lora_parameters.scale")
        }
        weights = try SafeTensorsFile(file: weightsFile)
        let weightsPath = weightsFile.path

        var carried = AdapterMetadata()
        var carriedModules: [String: JSONValue] = [:]
        if let text = weights.metadata?[MLXDirectoryAdapter.metadataKey], let json = try? JSONValue(parsing: text) {
            carried = try AdapterMetadata(json: json, path: weightsPath)
            carriedModules = Dictionary(
                (json["modules"]?.objectValue ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        }

        var pairs: [String: (a: SafeTensorsEntry?, b: SafeTensorsEntry?)] = [:]
        for e in weights.entries {
            if e.name.hasSuffix(".m") {
                throw FormatError(
                    .unsupported, "DoRA magnitudes are not supported", path: weightsPath, location: e.name)
            }
            let isA = e.name.hasSuffix(".lora_a")
            guard isA || e.name.hasSuffix(".lora_b") else {
                throw FormatError(
                    .unsupported, "tensor is not a LoRA factor: only lora_a/lora_b are supported", path: weightsPath,
                    location: e.name)
            }
            let path = String(e.name.dropLast(".lora_a".count))
            if isA { pairs[path, default: (nil, nil)].a = e } else { pairs[path, default: (nil, nil)].b = e }
        }
        var modules: [LoraModuleInfo] = []
        for (path, pair) in pairs {
            guard let a = pair.a, let b = pair.b else {
                throw FormatError(
                    .malformed, "module has only one of lora_a / lora_b", path: weightsPath, location: path)
            }
            guard a.shape.count == 2, b.shape.count == 2, a.shape[1] == b.shape[0], a.shape[1] > 0 else {
                throw FormatError(
                    .malformed, "lora_a \(a.shape) (in × r) and lora_b \(b.shape) (r × out) do not form a LoRA",
                    path: weightsPath, location: path)
            }
            guard a.dtype == b.dtype, a.dtype.isConvertibleFloat else {
                throw FormatError(
                    .unsupported, "factors must share a float dtype (got \(a.dtype.rawValue), \(b.dtype.rawValue))",
                    path: weightsPath, location: path)
            }
            var rank = a.shape[1]
            // An export of this tool pads smaller ranks with zeros to mlx-lm's one rank; drop them again.
            if let r = carriedModules[path]?["r"]?.intValue, r >= 1, r < rank,
                try MLXDirectoryAdapter.isZero(try weights.tensor(path + ".lora_b"), fromRow: r),
                try MLXDirectoryAdapter.isZero(try weights.tensor(path + ".lora_a").transposed(), fromRow: r)
            {
                rank = r
            }
            var alpha = scale * Double(rank)
            if let m = carriedModules[path], m["r"]?.intValue == rank, let carriedAlpha = m["alpha"]?.doubleValue,
                carriedAlpha / Double(rank) == scale
            {
                alpha = carriedAlpha
            }
            modules.append(
                LoraModuleInfo(
                    path: path, rank: rank, inFeatures: a.shape[0], outFeatures: b.shape[1], alpha: alpha,
                    useRSLoRA: false, dtype: a.dtype))
        }
        self.modules = modules.sorted { naturalOrder($0.path, $1.path) }
        carried.baseModel = try config.string("model") ?? carried.baseModel
        metadata = carried
    }

    public func factors(of module: LoraModuleInfo) throws -> (a: Tensor, b: Tensor) {
        let a = try weights.tensor(module.path + ".lora_a").transposed().firstRows(module.rank)
        let b = try weights.tensor(module.path + ".lora_b").firstRows(module.rank).transposed()
        try module.validate(a: a, b: b, source: location)
        return (a, b)
    }

    /// Whether every element of rows `row...` of a 2-D tensor is zero (either sign).
    static func isZero(_ t: Tensor, fromRow row: Int) throws -> Bool {
        guard t.shape.count == 2 else { return false }
        return try t.floats().dropFirst(row * t.shape[1]).allSatisfy { $0 == 0 }
    }
}
