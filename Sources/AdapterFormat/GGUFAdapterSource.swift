import Tensors

/// A llama.cpp GGUF LoRA adapter (`general.type = adapter`, `adapter.type = lora`),
/// read back into transformers' module paths and row order.
///
/// Tensors `blk.N.<name>.weight.lora_a` (ne = [in, r]) and `.lora_b`
/// (ne = [r, out]) become `model.layers.N.self_attn.q_proj` and so on; every
/// module's scaling is `adapter.lora.alpha` / r, or 1 without alpha (as
/// llama.cpp applies them). For the `llama` architecture the rows of q's and
/// k's B are put back in transformers' order, which needs the head counts: an
/// adapter written by adaptermerge carries them, one converted by llama.cpp
/// takes them from the base model (`layout`), and without either q and k are
/// refused by name. F32, F16 and BF16 factors are read bit for bit; quantized
/// ones are dequantized to f32.
public final class GGUFAdapterSource: AdapterSource, @unchecked Sendable {
    public let location: String
    public let format = AdapterFormatKind.gguf
    public let modules: [LoraModuleInfo]
    public let metadata: AdapterMetadata
    public let file: GGUFFile
    private let mapped: MappedFile
    private let tensors: [String: (a: GGUFTensorInfo, b: GGUFTensorInfo, order: [Int]?)]

    public init(file mapped: MappedFile, layout: LlamaCppLayout? = nil) throws {
        self.mapped = mapped
        let file = try GGUFFile(file: mapped)
        self.file = file
        location = mapped.path
        func bad(_ message: String, _ location: String? = nil) -> FormatError {
            FormatError(.unsupported, message, path: mapped.path, location: location)
        }
        let type = try file.string("general.type")
        guard type == "adapter", try file.string("adapter.type") == "lora" else {
            throw FormatError(
                .notRecognized,
                type == "adapter"
                    ? "adapter.type is not lora"
                    : "a GGUF \(type ?? "model"), not a LoRA adapter (general.type = adapter)",
                path: mapped.path)
        }
        let architecture = try file.string("general.architecture") ?? "llama"
        guard LlamaCppLayout.architectures.contains(architecture) else {
            throw bad("architecture \"\(architecture)\" is not supported (llama, qwen2)", "general.architecture")
        }
        var resolved = layout
        if let heads = try file.integer(AdapterWriter.GGUFAdapterKey.headCount),
            let kv = try file.integer(AdapterWriter.GGUFAdapterKey.keyValueHeadCount), heads > 0, kv > 0
        {
            resolved = LlamaCppLayout(architecture: architecture, headCount: heads, keyValueHeadCount: kv)
        }
        let alpha = try file.float("adapter.lora.alpha").flatMap { $0 != 0 ? $0 : nil }

        var carried = AdapterMetadata()
        var carriedModules: [String: JSONValue] = [:]
        if let text = try file.string(AdapterWriter.GGUFAdapterKey.metadata), let json = try? JSONValue(parsing: text) {
            carried = try AdapterMetadata(json: json, path: mapped.path)
            carriedModules = Dictionary(
                (json["modules"]?.objectValue ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        }
        let projections = Dictionary(uniqueKeysWithValues: LlamaCppLayout.tensorNames.map { ($1, $0) })
        var pairs: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for t in file.tensors {
            let isA = t.name.hasSuffix(".weight.lora_a")
            guard isA || t.name.hasSuffix(".weight.lora_b") else {
                throw bad("tensor is not a LoRA factor (.weight.lora_a / .weight.lora_b)", t.name)
            }
            let parts = t.name.split(separator: ".")
            guard parts.count == 5, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0,
                let projection = projections[String(parts[2])]
            else {
                throw bad("only the seven projections of a block are supported (blk.N.attn_q … ffn_down)", t.name)
            }
            try file.requireSupported(t)
            let path = LoraModuleInfo.projectionPath(layer: layer, projection: projection)
            if isA { pairs[path, default: (nil, nil)].a = t } else { pairs[path, default: (nil, nil)].b = t }
        }
        var modules: [LoraModuleInfo] = []
        var tensors: [String: (a: GGUFTensorInfo, b: GGUFTensorInfo, order: [Int]?)] = [:]
        for (path, pair) in pairs {
            guard let a = pair.a, let b = pair.b else {
                throw FormatError(
                    .malformed, "module has only one of lora_a / lora_b", path: mapped.path, location: path)
            }
            guard a.dimensions.count == 2, b.dimensions.count == 2, a.rows == b.columns, a.rows > 0 else {
                throw FormatError(
                    .malformed, "lora_a \(a.dimensions) and lora_b \(b.dimensions) (ne) do not form a LoRA",
                    path: mapped.path, location: path)
            }
            let rank = a.rows
            let name = String(path.split(separator: ".").last ?? "")
            var order: [Int]?
            if architecture == "llama" && (name == "q_proj" || name == "k_proj") {
                guard let resolved else {
                    throw bad(
                        "q and k rows are in llama.cpp's order and the file does not say the head counts: give --model",
                        path)
                }
                order = resolved.rowOrder(of: name, rows: b.rows)
            }
            let stored = (a.type == b.type) ? a.type : .f32
            let dtype: DType = stored == .f16 ? .f16 : stored == .bf16 ? .bf16 : .f32
            let scaling = alpha.map { $0 / Double(rank) } ?? 1
            var moduleAlpha = scaling * Double(rank)
            if let m = carriedModules[path], m["r"]?.intValue == rank, let a = m["alpha"]?.doubleValue,
                Float(a / Double(rank)) == Float(scaling)
            {
                moduleAlpha = a
            }
            modules.append(
                LoraModuleInfo(
                    path: path, rank: rank, inFeatures: a.columns, outFeatures: b.rows, alpha: moduleAlpha,
                    useRSLoRA: false, dtype: dtype))
            tensors[path] = (a, b, order)
        }
        self.modules = modules.sorted { naturalOrder($0.path, $1.path) }
        self.tensors = tensors
        if carried.baseModel == nil { carried.baseModel = try file.string("general.name") }
        metadata = carried
    }

    public var storedBytes: Int { tensors.values.reduce(0) { $0 + $1.a.byteCount + $1.b.byteCount } }
    public var rawBytes: Int { modules.reduce(0) { $0 + $1.parameterCount * $1.dtype.byteSize } }
    public var encodings: [String: TensorEncoding] {
        Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, .raw) })
    }

    public func contentHash() throws -> String { XXH64.hex(XXH64.hash(mapped.bytes)) }

    public func factors(of module: LoraModuleInfo) throws -> (a: Tensor, b: Tensor) {
        guard let t = tensors[module.path] else {
            throw FormatError(.malformed, "no such module", path: location, location: module.path)
        }
        let a = try tensor(t.a, dtype: module.dtype, rowOrder: nil)
        let b = try tensor(t.b, dtype: module.dtype, rowOrder: t.order)
        try module.validate(a: a, b: b, source: location)
        return (a, b)
    }

    /// A factor as rows × columns: stored bytes as they are for f32/f16/bf16
    /// (rows reordered by `rowOrder`), else dequantized to f32.
    private func tensor(_ t: GGUFTensorInfo, dtype: DType, rowOrder: [Int]?) throws -> Tensor {
        let raw = file.bytes(of: t)
        var bytes: [UInt8]
        var rowBytes: Int
        if t.type == .f32 || (t.type == .f16 && dtype == .f16) || (t.type == .bf16 && dtype == .bf16) {
            bytes = Array(raw)
            rowBytes = t.rowBytes
        } else {
            let floats = try file.floats(of: t)
            bytes = floats.withUnsafeBytes { Array($0) }
            rowBytes = t.columns * 4
        }
        if let rowOrder {
            var reordered = bytes
            for (row, stored) in rowOrder.enumerated() {
                reordered.replaceSubrange(
                    (row * rowBytes)..<((row + 1) * rowBytes),
                    with: bytes[(stored * rowBytes)..<((stored + 1) * rowBytes)])
            }
            bytes = reordered
        }
        return try Tensor(
            dtype: t.type == .f32 || bytes.count == t.elementCount * 4 ? .f32 : dtype, shape: [t.rows, t.columns],
            bytes: bytes)
    }
}
