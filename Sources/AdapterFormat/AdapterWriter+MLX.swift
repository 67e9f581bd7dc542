import Tensors

extension AdapterWriter {
    /// Writes an mlx-lm adapter directory (`adapters.safetensors`,
    /// `adapter_config.json`) that `mlx_lm.generate --adapter-path` loads.
    ///
    /// mlx-lm has one `scale` and one `rank` for all modules. When every module
    /// has the same scaling it is that scale and the factors are stored as they
    /// are (transposed: `lora_a` = Aᵀ, `lora_b` = Bᵀ); otherwise each module's
    /// scaling is folded into `lora_b` and the scale is 1. mlx-lm 0.32 refuses
    /// a module whose rank is not `rank`, so modules of a smaller rank are
    /// padded with exact zeros to the largest. `num_layers` is -1 (every layer
    /// gets LoRA wrappers; those without weights here keep mlx-lm's zero
    /// `lora_b`), `keys` the modules' paths within a layer. adaptermerge's
    /// metadata rides in the safetensors header, so reading the directory
    /// back drops the padding and `.lora` → MLX → `.lora` is exact.
    public static func writeMLX(
        modules: [LoraModuleInfo], metadata: AdapterMetadata, to directory: String, overwrite: Bool,
        dtype: DType? = nil, allowNonFinite: Bool = false, factors: FactorProducer
    ) throws {
        let out = try AtomicDirectoryWriter(
            destination: directory, overwrite: overwrite, marker: MLXDirectoryAdapter.weightsName)
        let outModules = modules.map { $0.with(dtype: dtype ?? $0.dtype) }
        let rank = modules.map(\.rank).max() ?? 0
        let scalings = Set(modules.map(\.scaling))
        let uniform = scalings.count <= 1
        let scale = uniform ? (scalings.first ?? 1) : 1
        let carried = metadata
        let header = [
            "format": "mlx",
            MLXDirectoryAdapter.metadataKey: carried.containerJSON(
                modules: uniform ? outModules : outModules.map { $0.with(alpha: Double($0.rank), useRSLoRA: false) }
            ).compactText,
        ]
        var specs: [(name: String, dtype: DType, shape: [Int])] = []
        var owner: [String: Int] = [:]
        for (i, m) in outModules.enumerated() {
            specs.append((m.path + ".lora_a", m.dtype, [m.inFeatures, rank]))
            specs.append((m.path + ".lora_b", m.dtype, [rank, m.outFeatures]))
            owner[m.path + ".lora_a"] = i
            owner[m.path + ".lora_b"] = i
        }
        var cache: (index: Int, a: Tensor, b: Tensor)?
        try SafeTensorsWriter.write(
            specs: specs, metadata: header, to: out.path(MLXDirectoryAdapter.weightsName), overwrite: true
        ) { name in
            guard let i = owner[name] else {
                throw FormatError(.invalidContent, "no module for \(name)", path: directory)
            }
            if cache?.index != i {
                var (a, b) = try factors(modules[i])
                if !uniform {
                    let folded = try b.floats().map { $0 * Float(modules[i].scaling) }
                    b = try Tensor(floats: folded, shape: b.shape, dtype: .f32)
                }
                let (sa, sb) = try checked(
                    try converted((a, b), to: outModules[i].dtype), module: modules[i], path: directory,
                    allowNonFinite: allowNonFinite)
                cache = (i, try sa.paddedRows(to: rank).transposed(), try sb.transposed().paddedRows(to: rank))
            }
            guard let cache else { throw FormatError(.invalidContent, "no factors for \(name)", path: directory) }
            return name.hasSuffix(".lora_a") ? cache.a : cache.b
        }
        var keys: [String] = []
        for m in modules {
            let key = MLXDirectoryAdapter.layerKey(m.path)
            if !keys.contains(key) { keys.append(key) }
        }
        var config: [(key: String, value: JSONValue)] = [("fine_tune_type", "lora")]
        if let base = metadata.baseModel { config.append(("model", .string(base))) }
        config += [
            ("num_layers", .int(-1)),
            (
                "lora_parameters",
                [
                    "rank": .int(rank), "scale": .number(scale), "dropout": .number(0),
                    "keys": .array(keys.sorted().map { .string($0) }),
                ]
            ),
        ]
        try AtomicFileWriter.write(
            JSONValue.object(config).prettyText(indent: 2), to: out.path(MLXDirectoryAdapter.configName),
            overwrite: true)
        try out.commit()
    }
}

extension MLXDirectoryAdapter {
    /// A module's name within its layer, as mlx-lm's `keys` list them
    /// (`model.layers.3.self_attn.q_proj` → `self_attn.q_proj`); a module
    /// outside the layers keeps its whole path.
    static func layerKey(_ path: String) -> String {
        let parts = path.split(separator: ".")
        if let i = parts.firstIndex(where: { Int($0) != nil }), i + 1 < parts.count {
            return parts[(i + 1)...].joined(separator: ".")
        }
        return path
    }
}
