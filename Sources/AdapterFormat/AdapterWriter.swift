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
    ///   - allowNonFinite: write NaN/Inf values; otherwise a module holding any
    ///     (after conversion to `dtype`, where a large value overflows) stops the
    ///     write, naming the module, and nothing is left at `path`.
    public static func writeLora(
        modules: [LoraModuleInfo], metadata: AdapterMetadata, to path: String,
        overwrite: Bool, dtype: DType? = nil, options: LoraWriteOptions = LoraWriteOptions(),
        allowNonFinite: Bool = false, factors: FactorProducer
    ) throws {
        let writer = try LoraContainerWriter(destination: path, overwrite: overwrite, options: options)
        var written: [LoraModuleInfo] = []
        // Module i is encoded in the background while `factors` makes module i + 1.
        var pending: BackgroundTask<[LoraContainerWriter.PreparedTensor]>?
        for module in modules {
            let (a, b) = try checked(
                try converted(try factors(module), to: dtype), module: module, path: path,
                allowNonFinite: allowNonFinite)
            written.append(module.with(dtype: a.dtype))
            if let pending { for tensor in try pending.value() { try writer.append(tensor) } }
            pending = BackgroundTask {
                [
                    try LoraContainerWriter.prepare(name: module.keyA, tensor: a, options: options),
                    try LoraContainerWriter.prepare(name: module.keyB, tensor: b, options: options),
                ]
            }
        }
        if let pending { for tensor in try pending.value() { try writer.append(tensor) } }
        // Keep the stored PEFT config consistent with the modules, in exactly the
        // form an export writes, so .lora → PEFT → .lora gives the same bytes.
        var stored = metadata
        stored.peftConfig = metadata.peftConfig.map {
            PEFTConfig.exportJSON(
                modules: written, baseModel: metadata.baseModel,
                fanInFanOut: $0["fan_in_fan_out"]?.boolValue ?? false, original: $0)
        }
        try writer.finish(metadata: stored.containerJSON(modules: written))
    }

    /// Writes a PEFT adapter directory (`adapter_config.json` and
    /// `adapter_model.safetensors`) that `PeftModel.from_pretrained` loads.
    ///
    /// The directory is assembled beside the destination and moved into place
    /// (``AtomicDirectoryWriter``), so a failure leaves nothing behind and
    /// `overwrite` replaces an existing adapter directory whole.
    public static func writePEFT(
        modules: [LoraModuleInfo], metadata: AdapterMetadata, to directory: String,
        overwrite: Bool, dtype: DType? = nil, allowNonFinite: Bool = false, factors: FactorProducer
    ) throws {
        let out = try AtomicDirectoryWriter(
            destination: directory, overwrite: overwrite, marker: PEFTDirectoryAdapter.configName)

        let outModules = modules.map { $0.with(dtype: dtype ?? $0.dtype) }
        let fanInFanOut = metadata.peftConfig?["fan_in_fan_out"]?.boolValue ?? false
        let config = PEFTConfig.exportJSON(
            modules: outModules, baseModel: metadata.baseModel,
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
        try SafeTensorsWriter.write(
            specs: specs, metadata: safetensorsMetadata,
            to: out.path(PEFTDirectoryAdapter.weightsName), overwrite: true
        ) { name in
            let i = owner[name]!
            if cache?.index != i {
                let (a, b) = try checked(
                    try converted(try factors(modules[i]), to: dtype), module: modules[i], path: directory,
                    allowNonFinite: allowNonFinite)
                cache = (i, a, b)
            }
            return name.hasSuffix(".lora_A.weight") ? cache!.a : cache!.b
        }
        try AtomicFileWriter.write(
            config.prettyText(indent: 2), to: out.path(PEFTDirectoryAdapter.configName), overwrite: true)
        try out.commit()
    }

    /// Writes the adapter in `format`, or as the path asks (``AdapterOutputFormat/of(_:requested:)``):
    /// a path ending in `.lora` is a `.lora` file, anything else a PEFT directory.
    public static func write(
        modules: [LoraModuleInfo], metadata: AdapterMetadata, to path: String, overwrite: Bool,
        format: AdapterOutputFormat? = nil, dtype: DType? = nil, options: LoraWriteOptions = LoraWriteOptions(),
        allowNonFinite: Bool = false, factors: FactorProducer
    ) throws {
        let format = AdapterOutputFormat.of(path, requested: format ?? options.format)
        if options.quantizeA && format != .gguf {
            throw FormatError(
                .invalidContent, "q8_0 is a GGUF adapter type; this output is \(format.rawValue)", path: path)
        }
        switch format {
        case .peft:
            try writePEFT(
                modules: modules, metadata: metadata, to: path, overwrite: overwrite, dtype: dtype,
                allowNonFinite: allowNonFinite, factors: factors)
        case .mlx:
            try writeMLX(
                modules: modules, metadata: metadata, to: path, overwrite: overwrite, dtype: dtype,
                allowNonFinite: allowNonFinite, factors: factors)
        case .gguf:
            try writeGGUF(
                modules: modules, metadata: metadata, to: path, overwrite: overwrite, dtype: dtype,
                options: options, allowNonFinite: allowNonFinite, factors: factors)
        case .lora:
            try writeLora(
                modules: modules, metadata: metadata, to: path, overwrite: overwrite, dtype: dtype,
                options: options, allowNonFinite: allowNonFinite, factors: factors)
        }
    }

    /// The factors as they will be stored, refused when they hold NaN or infinity.
    static func checked(
        _ pair: (a: Tensor, b: Tensor), module: LoraModuleInfo, path: String,
        allowNonFinite: Bool
    ) throws -> (a: Tensor, b: Tensor) {
        guard !allowNonFinite else { return pair }
        let bad = pair.a.nonFiniteCount + pair.b.nonFiniteCount
        guard bad == 0 else {
            let overflow =
                pair.a.dtype == .f16 || pair.a.dtype == .bf16
                ? " (stored as \(pair.a.dtype.rawValue): too large for it?)" : ""
            throw FormatError(
                .invalidContent, "module \(module.path) has \(bad) NaN/Inf values\(overflow); nothing written",
                path: path,
                location: module.path)
        }
        return pair
    }

    /// Checks an adapter output path before any work (see ``FileSystem/checkOutput(_:kind:overwrite:)``):
    /// a `.lora` file, or a directory of the format's kind. (An existing directory
    /// named `x.lora` is refused, not silently written as PEFT.)
    public static func checkOutput(_ path: String, format: AdapterOutputFormat? = nil, overwrite: Bool) throws {
        let kind: FileSystem.OutputKind =
            AdapterOutputFormat.of(path, requested: format).directoryMarker.map {
                .directory(marker: $0)
            } ?? .file
        try FileSystem.checkOutput(path, kind: kind, overwrite: overwrite)
    }

    static func converted(_ pair: (a: Tensor, b: Tensor), to dtype: DType?) throws -> (a: Tensor, b: Tensor) {
        guard let dtype else { return pair }
        return (try pair.a.converted(to: dtype), try pair.b.converted(to: dtype))
    }
}
