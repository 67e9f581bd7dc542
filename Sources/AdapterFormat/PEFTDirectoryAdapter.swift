import Tensors

/// An adapter in a PEFT directory: `adapter_config.json` and `adapter_model.safetensors`.
public final class PEFTDirectoryAdapter: SafeTensorsAdapter, @unchecked Sendable {
    public static let configName = "adapter_config.json"
    public static let weightsName = "adapter_model.safetensors"

    public let location: String
    public let format = AdapterFormatKind.peft
    public let modules: [LoraModuleInfo]
    public let metadata: AdapterMetadata
    public let config: PEFTConfig
    public let weights: SafeTensorsFile
    let file: MappedFile

    public convenience init(directory: String) throws {
        let weightsPath = FileSystem.join(directory, PEFTDirectoryAdapter.weightsName)
        guard FileSystem.isRegularFile(weightsPath) else {
            if FileSystem.isRegularFile(FileSystem.join(directory, "adapter_model.bin")) {
                throw FormatError(
                    .unsupported,
                    "adapter_model.bin (pickle) is not read; save the adapter with safe_serialization=True",
                    path: directory)
            }
            throw FormatError(
                .notRecognized, "not a PEFT adapter directory: \(PEFTDirectoryAdapter.weightsName) is missing",
                path: directory)
        }
        try self.init(directory: directory, weightsFile: try MappedFile(path: weightsPath))
    }

    public init(directory: String, weightsFile: MappedFile) throws {
        self.file = weightsFile
        let configPath = FileSystem.join(directory, PEFTDirectoryAdapter.configName)
        guard FileSystem.isRegularFile(configPath) else {
            throw FormatError(
                .notRecognized, "not a PEFT adapter: \(PEFTDirectoryAdapter.configName) is missing next to the weights",
                path: directory)
        }
        let configJSON = try FileSystem.readJSON(configPath, limit: 16 << 20)
        config = try PEFTConfig(json: configJSON, path: configPath)
        weights = try SafeTensorsFile(file: weightsFile)
        location = directory
        let weightsPath = weightsFile.path

        // Refuse, by name, every tensor that is not a plain lora_A/lora_B weight. Specific features
        // are looked for across all keys first, so the message names the feature, not a side effect.
        let names = weights.entries.map(\.name)
        let features: [(String, String)] = [
            ("lora_embedding_A", "embedding LoRA"), ("lora_embedding_B", "embedding LoRA"),
            ("lora_magnitude_vector", "DoRA (lora_magnitude_vector)"), ("modules_to_save", "modules_to_save tensors"),
            ("trainable_tokens", "trainable tokens"), (".lora_B.bias", "lora_bias"), (".lora_A.bias", "lora_bias"),
        ]
        for (fragment, feature) in features {
            if let name = names.first(where: { $0.contains(fragment) }) {
                throw FormatError(.unsupported, "\(feature) is not supported", path: weightsPath, location: name)
            }
        }
        let savedModules = (configJSON["modules_to_save"]?.arrayValue ?? []).compactMap(\.stringValue)
        var factors: [String: (a: SafeTensorsEntry?, b: SafeTensorsEntry?)] = [:]
        for e in weights.entries {
            let name = e.name
            let isA = name.hasSuffix(".lora_A.weight")
            let isB = name.hasSuffix(".lora_B.weight")
            guard isA || isB else {
                if let saved = savedModules.first(where: { name.contains(".\($0).") }) {
                    throw FormatError(
                        .unsupported, "modules_to_save tensors (\(saved)) are not supported", path: weightsPath,
                        location: name)
                }
                throw FormatError(
                    .unsupported, "tensor is not a LoRA factor: only lora_A/lora_B weights are supported",
                    path: weightsPath, location: name)
            }
            guard name.hasPrefix(LoraModuleInfo.keyPrefix) else {
                throw FormatError(
                    .malformed, "LoRA key does not start with \(LoraModuleInfo.keyPrefix)", path: weightsPath,
                    location: name)
            }
            let modulePath = String(name.dropFirst(LoraModuleInfo.keyPrefix.count).dropLast(".lora_A.weight".count))
            if isA {
                factors[modulePath, default: (nil, nil)].a = e
            } else {
                factors[modulePath, default: (nil, nil)].b = e
            }
        }
        var modules: [LoraModuleInfo] = []
        for (modulePath, pair) in factors {
            guard let a = pair.a, let b = pair.b else {
                throw FormatError(
                    .malformed, "module has only one of lora_A / lora_B", path: weightsPath, location: modulePath)
            }
            guard a.shape.count == 2, b.shape.count == 2 else {
                throw FormatError(
                    .unsupported, "LoRA factors of rank-\(a.shape.count) tensors (Conv LoRA) are not supported",
                    path: weightsPath, location: modulePath)
            }
            guard a.shape[0] == b.shape[1] else {
                throw FormatError(
                    .malformed, "lora_A \(a.shape) and lora_B \(b.shape) disagree on the rank", path: weightsPath,
                    location: modulePath)
            }
            guard a.dtype == b.dtype, a.dtype.isConvertibleFloat else {
                throw FormatError(
                    .unsupported, "factors must share a float dtype (got \(a.dtype.rawValue), \(b.dtype.rawValue))",
                    path: weightsPath, location: modulePath)
            }
            let rank = a.shape[0]
            let expected = config.rank(for: modulePath)
            guard rank == expected else {
                throw FormatError(
                    .malformed, "tensors have rank \(rank) but the config (r / rank_pattern) says \(expected)",
                    path: weightsPath, location: modulePath)
            }
            modules.append(
                LoraModuleInfo(
                    path: modulePath, rank: rank, inFeatures: a.shape[1], outFeatures: b.shape[0],
                    alpha: config.alpha(for: modulePath), useRSLoRA: config.useRSLoRA, dtype: a.dtype))
        }
        self.modules = modules.sorted { naturalOrder($0.path, $1.path) }

        // Metadata from a previous adaptermerge export wins; the config always supplies the PEFT side.
        var metadata = AdapterMetadata()
        if let carried = weights.metadata?[AdapterMetadata.peftMetadataKey] {
            if let json = try? JSONValue(parsing: carried) {
                metadata = try AdapterMetadata(json: json, path: weightsPath)
            }
        }
        metadata.baseModel = config.baseModel ?? metadata.baseModel
        metadata.peftConfig = configJSON
        self.metadata = metadata
    }

    public func factors(of module: LoraModuleInfo) throws -> (a: Tensor, b: Tensor) {
        let a = try weights.tensor(module.keyA)
        let b = try weights.tensor(module.keyB)
        try module.validate(a: a, b: b, source: location)
        return (a, b)
    }
}
