import Tensors

extension AdapterWriter {
    /// Keys adaptermerge adds to a GGUF adapter, so that reading it back needs no model.
    enum GGUFAdapterKey {
        static let metadata = "adaptermerge.metadata"
        static let headCount = "adaptermerge.head_count"
        static let keyValueHeadCount = "adaptermerge.head_count_kv"
    }

    /// Writes a llama.cpp GGUF LoRA adapter (`llama-cli --lora`), as
    /// `convert_lora_to_gguf.py` writes one and `llama-adapter.cpp` reads it:
    /// `general.type = adapter`, `adapter.type = lora`, the base model's
    /// `general.architecture`, and per module `blk.N.attn_q.weight.lora_a`
    /// (ne = [in, r]) and `.lora_b` (ne = [r, out]).
    ///
    /// llama.cpp applies one `adapter.lora.alpha` to every module (scale =
    /// alpha / rank) and ignores rsLoRA and per-module ranks, so unless every
    /// module has the same rank and scaling (then alpha = scaling · rank and the
    /// factors are stored as they are), each module's scaling is folded into B
    /// and alpha is left out (scale 1): per-module ranks, rsLoRA and
    /// layer-banded merges then come out exactly. B's rows of q and k are put
    /// in the order llama.cpp's converter gives the base weights (``LlamaCppLayout``).
    /// Types: f32, f16, bf16 (``LoraWriteOptions`` `dtype`), or lora_a as Q8_0
    /// (`quantizeA`, where its width is a multiple of 32; B keeps f32).
    public static func writeGGUF(
        modules: [LoraModuleInfo], metadata: AdapterMetadata, to path: String, overwrite: Bool,
        dtype: DType? = nil, options: LoraWriteOptions, allowNonFinite: Bool = false, factors: FactorProducer
    ) throws {
        guard let layout = options.llamaCpp else {
            throw FormatError(
                .invalidContent,
                "a GGUF adapter is written for a base model: give --model (its architecture and head counts)",
                path: path)
        }
        guard LlamaCppLayout.architectures.contains(layout.architecture) else {
            throw FormatError(
                .unsupported, "architecture \"\(layout.architecture)\" has no GGUF adapter layout (llama, qwen2)",
                path: path)
        }
        var names: [(module: LoraModuleInfo, base: String)] = []
        for m in modules {
            let parts = m.path.split(separator: ".")
            guard let layer = m.layer, let tensor = LlamaCppLayout.tensorNames[m.targetName], parts.count >= 2,
                parts[parts.count - 2] == (tensor.hasPrefix("attn") ? "self_attn" : "mlp")
            else {
                throw FormatError(
                    .unsupported, "module has no llama.cpp tensor name (only the seven projections of a block)",
                    path: path, location: m.path)
            }
            names.append((m, "blk.\(layer).\(tensor).weight"))
        }
        let uniform = Set(modules.map(\.scaling)).count <= 1 && Set(modules.map(\.rank)).count <= 1
        let floatType: GGMLType
        switch dtype ?? (modules.allSatisfy { $0.dtype == modules.first?.dtype } ? modules.first?.dtype : .f32) {
        case .f16: floatType = .f16
        case .bf16: floatType = .bf16
        default: floatType = .f32
        }
        let outModules = modules.map {
            uniform
                ? $0.with(dtype: floatType == .f32 ? .f32 : floatType == .f16 ? .f16 : .bf16)
                : $0.with(alpha: Double($0.rank), useRSLoRA: false, dtype: .f32)
        }
        var meta: [(key: String, value: GGUFValue)] = [
            ("general.type", .string("adapter")), ("general.architecture", .string(layout.architecture)),
            ("adapter.type", .string("lora")),
        ]
        if uniform, let m = modules.first {
            meta.append(("adapter.lora.alpha", .float32(Float(m.scaling * Double(m.rank)))))
        }
        if let base = metadata.baseModel { meta.append(("general.name", .string(base))) }
        meta += [
            (GGUFAdapterKey.headCount, .uint32(UInt32(layout.headCount))),
            (GGUFAdapterKey.keyValueHeadCount, .uint32(UInt32(layout.keyValueHeadCount))),
            (GGUFAdapterKey.metadata, .string(metadata.containerJSON(modules: outModules).compactText)),
        ]
        var specs: [GGUFWriter.TensorSpec] = []
        var owner: [String: Int] = [:]
        for (i, (m, base)) in names.enumerated() {
            let aType: GGMLType = quantizesA(m, options: options) ? .q8_0 : (uniform ? floatType : .f32)
            specs.append(.init(name: base + ".lora_a", type: aType, dimensions: [m.inFeatures, m.rank]))
            specs.append(
                .init(name: base + ".lora_b", type: uniform ? floatType : .f32, dimensions: [m.rank, m.outFeatures]))
            owner[base + ".lora_a"] = i
            owner[base + ".lora_b"] = i
        }
        var cache: (index: Int, a: [Float], b: [Float])?
        try GGUFWriter.write(metadata: meta, tensors: specs, to: path, overwrite: overwrite) { spec in
            guard let i = owner[spec.name] else {
                throw FormatError(.invalidContent, "no module for \(spec.name)", path: path)
            }
            if cache?.index != i {
                let m = modules[i]
                let (a, b) = try checked(try factors(m), module: m, path: path, allowNonFinite: allowNonFinite)
                var bValues = try b.floats()
                if !uniform { bValues = bValues.map { $0 * Float(m.scaling) } }
                if let order = layout.rowOrder(of: m.targetName, rows: m.outFeatures) {
                    var permuted = bValues
                    for (row, stored) in order.enumerated() {
                        for k in 0..<m.rank { permuted[stored * m.rank + k] = bValues[row * m.rank + k] }
                    }
                    bValues = permuted
                }
                cache = (i, try a.floats(), bValues)
            }
            guard let cache else { throw FormatError(.invalidContent, "no factors", path: path) }
            let bytes = try spec.type.encode(spec.name.hasSuffix(".lora_a") ? cache.a : cache.b)
            if !allowNonFinite, spec.type != .f32, spec.type != .q8_0 {
                // A value too large for f16 becomes infinite when narrowed.
                let widened = try Tensor(
                    dtype: spec.type == .f16 ? .f16 : .bf16, shape: [bytes.count / 2], bytes: bytes
                ).nonFiniteCount
                if widened > 0 {
                    throw FormatError(
                        .invalidContent,
                        "module \(modules[i].path) has \(widened) NaN/Inf values (stored as \(spec.type.name): too large for it?); nothing written",
                        path: path, location: modules[i].path)
                }
            }
            return bytes
        }
    }

    /// Whether ``writeGGUF`` stores `module`'s lora_a as Q8_0: asked for, and
    /// its width a multiple of Q8_0's block of 32.
    static func quantizesA(_ module: LoraModuleInfo, options: LoraWriteOptions) -> Bool {
        options.quantizeA && module.inFeatures % 32 == 0
    }

    /// `a` (the module's lora_a, rank × in) as a GGUF adapter written with
    /// `options` holds it: through Q8_0 and back where the writer quantizes it,
    /// else unchanged, so that a merge certificate measures what the file holds.
    public static func storedLoraA(_ a: Tensor, module: LoraModuleInfo, options: LoraWriteOptions) throws -> Tensor {
        guard quantizesA(module, options: options) else { return a }
        let values = try a.floats()
        let bytes = try GGMLType.q8_0.encode(values)
        return try Tensor(
            floats: bytes.withUnsafeBytes { GGMLType.q8_0.floats($0, count: values.count) }, shape: a.shape)
    }
}
