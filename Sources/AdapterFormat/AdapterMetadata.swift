/// What an adapter was trained or made for.
public enum AdapterKind: String, Sendable, CaseIterable {
    case task
    case alignment
    case joint
    case merged
}

/// Everything about an adapter except its tensors and per-module rank/alpha.
///
/// Stored in the `.lora` header's `__metadata__`, and in a PEFT export's
/// safetensors metadata under ``AdapterMetadata/peftMetadataKey``, so a
/// `.lora` → PEFT → `.lora` round trip keeps it.
public struct AdapterMetadata: Sendable, Equatable {
    public var kind: AdapterKind?
    /// `base_model_name_or_path`.
    public var baseModel: String?
    /// Languages the adapter was trained on, if known.
    public var languages: [String]
    /// The training recipe (objective, layer, temperature, hyper-parameters, data hashes).
    public var recipe: JSONValue?
    /// For merged adapters: inputs, weights, method, seed, tool version.
    public var lineage: JSONValue?
    /// The PEFT `adapter_config.json` the adapter came from, kept so that an
    /// export reproduces it.
    public var peftConfig: JSONValue?
    /// Keys adaptermerge does not interpret, kept as they are.
    public var extra: [String: JSONValue]

    public init(
        kind: AdapterKind? = nil, baseModel: String? = nil, languages: [String] = [], recipe: JSONValue? = nil,
        lineage: JSONValue? = nil, peftConfig: JSONValue? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.kind = kind
        self.baseModel = baseModel
        self.languages = languages
        self.recipe = recipe
        self.lineage = lineage
        self.peftConfig = peftConfig
        self.extra = extra
    }

    /// The safetensors metadata key under which a PEFT export carries this.
    public static let peftMetadataKey = "adaptermerge"

    static let knownKeys: Set<String> = [
        "format", "format_version", "kind", "base_model", "fingerprint", "use_rslora", "modules",
        "languages", "recipe", "lineage", "peft_config",
    ]
}

extension AdapterMetadata {
    /// The metadata object of a `.lora` file for these modules.
    public func containerJSON(modules: [LoraModuleInfo]) -> JSONValue {
        var pairs: [(key: String, value: JSONValue)] = [
            ("format", .string(LoraContainer.formatName)),
            ("format_version", .int(Int(LoraContainer.formatVersion))),
        ]
        if let kind { pairs.append(("kind", .string(kind.rawValue))) }
        if let baseModel { pairs.append(("base_model", .string(baseModel))) }
        pairs.append(("fingerprint", .string(ModuleFingerprint.of(modules))))
        pairs.append(("use_rslora", .bool(modules.first?.useRSLoRA ?? false)))
        pairs.append(
            (
                "modules",
                .object(
                    modules.map {
                        ($0.path, ["r": .int($0.rank), "alpha": .number($0.alpha)] as JSONValue)
                    })
            ))
        if !languages.isEmpty { pairs.append(("languages", .array(languages.map { .string($0) }))) }
        if let recipe { pairs.append(("recipe", recipe)) }
        if let lineage { pairs.append(("lineage", lineage)) }
        if let peftConfig { pairs.append(("peft_config", peftConfig)) }
        for (k, v) in extra where !AdapterMetadata.knownKeys.contains(k) { pairs.append((k, v)) }
        return JSONValue.object(pairs).canonicalized
    }

    /// Reads the interpreted keys of a metadata object; the rest go to ``extra``.
    ///
    /// Interpreted keys must have their types (`languages: 5` is refused, not read
    /// as no languages), and a `format_version` other than this build's is refused:
    /// a newer writer may mean something this reader cannot see. Keys it does not
    /// interpret are kept as they are, so that metadata from other tools survives
    /// a round trip.
    public init(json: JSONValue, path: String) throws {
        self.init()
        guard case .object(let pairs) = json else { return }
        let fields = try JSONFields(json, path: path, location: "__metadata__")
        if let version = fields["format_version"] {
            guard version.intValue == Int(LoraContainer.formatVersion) else {
                throw fields.error(
                    "format_version",
                    "format_version \(version.compactText) is not supported (this build reads \(LoraContainer.formatVersion))",
                    code: .unsupported)
            }
        }
        for (k, v) in pairs {
            switch k {
            case "kind":
                guard let s = v.stringValue, let kind = AdapterKind(rawValue: s) else {
                    throw fields.error("kind", "unknown adapter kind \(v.compactText)")
                }
                self.kind = kind
            case "base_model":
                baseModel = try fields.string("base_model")
            case "languages":
                languages = try fields.stringArray("languages") ?? []
            case "format", "fingerprint":
                _ = try fields.string(k)
            case "use_rslora":
                _ = try fields.bool(k)
            case "recipe", "lineage", "peft_config":
                if !v.isNull { _ = try fields.object(k) }
                if k == "recipe" { recipe = v } else if k == "lineage" { lineage = v } else { peftConfig = v }
            case _ where AdapterMetadata.knownKeys.contains(k): break
            default: extra[k] = v
            }
        }
    }
}

/// A short hash of the targeted module paths and shapes: two adapters for
/// the same base model and targets have the same fingerprint.
public enum ModuleFingerprint {
    public static func of(_ modules: [LoraModuleInfo]) -> String {
        var h = XXH64()
        for m in modules.sorted(by: { Array($0.path.utf8).lexicographicallyPrecedes($1.path.utf8) }) {
            h.update(Array("\(m.path):\(m.outFeatures)x\(m.inFeatures)\n".utf8))
        }
        return XXH64.hex(h.finalize())
    }
}
