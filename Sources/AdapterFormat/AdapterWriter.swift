import Tensors

/// Writes adapters as `.lora` files or PEFT directories, module by module.
///
/// Factors come from a closure, so a writer can stream from a reader or a
/// merge without holding the whole adapter.
public enum AdapterWriter {
    /// Produces the factors (A: r × in, B: out × r) of one module.
    public typealias FactorProducer = (LoraModuleInfo) throws -> (a: Tensor, b: Tensor)

    /// Writes a `.lora` file atomically.
    ///
    /// - Parameters:
    ///   - dtype: the stored dtype of the factors; `nil` keeps each module's.
    public static func writeLora(modules: [LoraModuleInfo], metadata: AdapterMetadata, to path: String,
                                 overwrite: Bool, dtype: DType? = nil, options: LoraWriteOptions = LoraWriteOptions(),
                                 factors: FactorProducer) throws {
        let writer = try LoraContainerWriter(destination: path, overwrite: overwrite, options: options)
        var written: [LoraModuleInfo] = []
        // Module i is encoded in the background while `factors` makes module i + 1.
        var pending: BackgroundTask<[LoraContainerWriter.PreparedTensor]>?
        for module in modules {
            let (a, b) = try converted(try factors(module), to: dtype)
            written.append(module.with(dtype: a.dtype))
            if let pending { for tensor in try pending.value() { try writer.append(tensor) } }
            pending = BackgroundTask {
                [try LoraContainerWriter.prepare(name: module.keyA, tensor: a, options: options),
                 try LoraContainerWriter.prepare(name: module.keyB, tensor: b, options: options)]
            }
        }
        if let pending { for tensor in try pending.value() { try writer.append(tensor) } }
        // Keep the stored PEFT config consistent with the modules, in exactly the
        // form an export writes, so .lora → PEFT → .lora gives the same bytes.
        var stored = metadata
        stored.peftConfig = metadata.peftConfig.map {
            PEFTConfig.exportJSON(modules: written, baseModel: metadata.baseModel,
                                  fanInFanOut: $0["fan_in_fan_out"]?.boolValue ?? false, original: $0)
        }
        try writer.finish(metadata: stored.containerJSON(modules: written))
    }

    /// Writes a PEFT adapter directory (`adapter_config.json` and
    /// `adapter_model.safetensors`) that `PeftModel.from_pretrained` loads.
    ///
    /// A new directory is assembled beside the destination and renamed into
    /// place, so a failure leaves nothing behind. With `overwrite`, an
    /// existing directory's two files are replaced atomically one by one.
    public static func writePEFT(modules: [LoraModuleInfo], metadata: AdapterMetadata, to directory: String,
                                 overwrite: Bool, dtype: DType? = nil, factors: FactorProducer) throws {
        let exists = FileSystem.exists(directory)
        if exists && !overwrite {
            throw FormatError(.outputExists, "already exists (use --force to overwrite)", path: directory)
        }
        if exists && !FileSystem.isDirectory(directory) {
            throw FormatError(.outputExists, "exists and is not a directory", path: directory)
        }
        let target = exists ? directory : try FileSystem.makeTemporaryDirectory(near: directory)
        var committed = false
        defer { if !exists && !committed { FileSystem.removeShallowDirectory(target) } }

        let outModules = modules.map { $0.with(dtype: dtype ?? $0.dtype) }
        let fanInFanOut = metadata.peftConfig?["fan_in_fan_out"]?.boolValue ?? false
        let config = PEFTConfig.exportJSON(modules: outModules, baseModel: metadata.baseModel,
                                           fanInFanOut: fanInFanOut, original: metadata.peftConfig)
        var carried = metadata
        carried.peftConfig = nil
        let safetensorsMetadata = [
            "format": "pt",
            AdapterMetadata.peftMetadataKey: carried.containerJSON(modules: outModules).compactText,
        ]

        var specs: [(name: String, dtype: DType, shape: [Int])] = []
        var owner: [String: Int] = [:]
        for (i, m) in outModules.enumerated() {
            specs.append((m.keyA, m.dtype, [m.rank, m.inFeatures]))
            specs.append((m.keyB, m.dtype, [m.outFeatures, m.rank]))
            owner[m.keyA] = i
            owner[m.keyB] = i
        }
        var cache: (index: Int, a: Tensor, b: Tensor)?
        try SafeTensorsWriter.write(specs: specs, metadata: safetensorsMetadata,
                                    to: FileSystem.join(target, PEFTDirectoryAdapter.weightsName), overwrite: true) { name in
            let i = owner[name]!
            if cache?.index != i {
                let (a, b) = try converted(try factors(modules[i]), to: dtype)
                cache = (i, a, b)
            }
            return name.hasSuffix(".lora_A.weight") ? cache!.a : cache!.b
        }
        let configFile = try AtomicFileWriter(destination: FileSystem.join(target, PEFTDirectoryAdapter.configName), overwrite: true)
        try configFile.write(Array(config.prettyText(indent: 2).utf8))
        try configFile.commit()
        if !exists { try FileSystem.moveDirectory(target, to: directory) }
        committed = true
    }

    /// Writes a PEFT directory or a `.lora` file, as the path asks: a
    /// path ending in `.lora` is a `.lora` file, anything else a PEFT directory.
    public static func write(modules: [LoraModuleInfo], metadata: AdapterMetadata, to path: String, overwrite: Bool,
                             dtype: DType? = nil, options: LoraWriteOptions = LoraWriteOptions(),
                             factors: FactorProducer) throws {
        if isDirectoryOutput(path) {
            try writePEFT(modules: modules, metadata: metadata, to: path, overwrite: overwrite, dtype: dtype, factors: factors)
        } else {
            try writeLora(modules: modules, metadata: metadata, to: path, overwrite: overwrite, dtype: dtype,
                          options: options, factors: factors)
        }
    }

    /// Whether an output path names a PEFT directory rather than a `.lora` file:
    /// anything not ending in `.lora`, an existing directory, or a path ending in `/`.
    public static func isDirectoryOutput(_ path: String) -> Bool {
        path.hasSuffix("/") || FileSystem.isDirectory(path) || !path.hasSuffix(".lora")
    }

    static func converted(_ pair: (a: Tensor, b: Tensor), to dtype: DType?) throws -> (a: Tensor, b: Tensor) {
        guard let dtype else { return pair }
        return (try pair.a.converted(to: dtype), try pair.b.converted(to: dtype))
    }
}
