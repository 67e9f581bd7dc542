/// The parts of a PEFT `adapter_config.json` that decide what an adapter
/// computes, with PEFT's own rules for `rank_pattern` and `alpha_pattern`.
public struct PEFTConfig: Sendable {
    public var r: Int
    public var loraAlpha: Double
    public var useRSLoRA: Bool
    /// Pattern → rank, in file order (PEFT takes the first match).
    public var rankPattern: [(key: String, value: Int)]
    /// Pattern → alpha, in file order.
    public var alphaPattern: [(key: String, value: Double)]
    public var baseModel: String?
    public var fanInFanOut: Bool
    /// The whole JSON object, as read.
    public var json: JSONValue

    /// Reads a config and refuses, by name, every feature whose adapters
    /// are not plain `ΔW = s · B · A` updates that adaptermerge can merge exactly.
    public init(json: JSONValue, path: String) throws {
        func bad(_ message: String, _ key: String) -> FormatError {
            FormatError(.malformed, message, path: path, location: key)
        }
        func refuse(_ feature: String, _ key: String) -> FormatError {
            FormatError(
                .unsupported, "\(feature) is not supported: its adapters are not plain LoRA updates", path: path,
                location: key)
        }
        // PEFT's format: keys it adds over time are accepted, but a known key of the
        // wrong type is refused (PEFT would read "yes" as true, a silent default as false).
        let fields = try JSONFields(json, path: path, what: "adapter_config.json")
        self.json = json
        if let type = json["peft_type"], !type.isNull {
            guard type.stringValue == "LORA" else {
                throw FormatError(
                    .unsupported, "peft_type \(type.compactText) is not LoRA", path: path, location: "peft_type")
            }
        }
        guard let r = json["r"]?.intValue, r > 0 else { throw bad("r must be a positive integer", "r") }
        self.r = r
        let alpha = json["lora_alpha"] ?? .int(8)
        guard let a = alpha.doubleValue, a.isFinite else { throw bad("lora_alpha must be a number", "lora_alpha") }
        loraAlpha = a
        useRSLoRA = try fields.bool("use_rslora") ?? false
        fanInFanOut = try fields.bool("fan_in_fan_out") ?? false
        baseModel = try fields.string("base_model_name_or_path")
        if let targets = fields["target_modules"], targets.stringValue == nil {
            _ = try fields.stringArray("target_modules")
        }
        for key in ["use_dora", "lora_bias", "use_qalora", "inference_mode"] { _ = try fields.bool(key) }
        if let initValue = fields["init_lora_weights"], initValue.boolValue == nil, initValue.stringValue == nil {
            throw bad(
                "init_lora_weights must be true, false or a method name, not \(JSONFields.describe(initValue))",
                "init_lora_weights")
        }
        _ = try fields.string("bias")
        for key in ["rank_pattern", "alpha_pattern"] where fields[key] != nil { _ = try fields.object(key) }

        rankPattern = []
        for (k, v) in json["rank_pattern"]?.objectValue ?? [] {
            guard let n = v.intValue, n > 0 else {
                throw bad("rank_pattern value for \"\(k)\" is not a positive integer", "rank_pattern")
            }
            rankPattern.append((k, n))
        }
        alphaPattern = []
        for (k, v) in json["alpha_pattern"]?.objectValue ?? [] {
            guard let n = v.doubleValue, n.isFinite else {
                throw bad("alpha_pattern value for \"\(k)\" is not a number", "alpha_pattern")
            }
            alphaPattern.append((k, n))
        }

        if json["use_dora"]?.boolValue == true { throw refuse("DoRA (use_dora)", "use_dora") }
        if json["lora_bias"]?.boolValue == true { throw refuse("lora_bias", "lora_bias") }
        if let bias = json["bias"]?.stringValue, bias != "none" {
            throw refuse("bias=\"\(bias)\" (trained base biases)", "bias")
        }
        if let initValue = json["init_lora_weights"]?.stringValue {
            let lowered = initValue.lowercased()
            for (prefix, name) in [
                ("pissa", "PiSSA"), ("olora", "OLoRA"), ("corda", "CorDA"), ("loftq", "LoftQ"), ("lora_ga", "LoRA-GA"),
            ]
            where lowered.hasPrefix(prefix) {
                throw FormatError(
                    .unsupported,
                    "\(name) initialisation (init_lora_weights=\"\(initValue)\") is not supported: it changes the base weights",
                    path: path, location: "init_lora_weights")
            }
        }
        for (key, feature) in [
            ("layer_replication", "layer_replication"), ("trainable_token_indices", "trainable tokens"),
            ("alora_invocation_tokens", "activated LoRA (alora_invocation_tokens)"),
            ("target_parameters", "LoRA on parameters (target_parameters)"),
        ] {
            if let v = json[key], !v.isNull, v != .array([]), v != .object([]) { throw refuse(feature, key) }
        }
        if json["use_qalora"]?.boolValue == true { throw refuse("QA-LoRA (use_qalora)", "use_qalora") }
    }

    /// The pattern key PEFT's `get_pattern_key` picks for a module: the first
    /// key `k` for which the regex `(.*\.)?(k)$` matches the whole path.
    static func matchingKey(_ keys: [String], path: String) -> String? {
        for key in keys {
            if key == path { return key }
            if let regex = try? Regex("(.*\\.)?(\(key))"), (try? regex.wholeMatch(in: path)) != nil { return key }
        }
        return nil
    }

    /// The rank PEFT gives the module at `path`.
    public func rank(for path: String) -> Int {
        guard let key = PEFTConfig.matchingKey(rankPattern.map(\.key), path: path) else { return r }
        return rankPattern.first { $0.key == key }?.value ?? r
    }

    /// The alpha PEFT gives the module at `path`.
    public func alpha(for path: String) -> Double {
        guard let key = PEFTConfig.matchingKey(alphaPattern.map(\.key), path: path) else { return loraAlpha }
        return alphaPattern.first { $0.key == key }?.value ?? loraAlpha
    }
}

extension PEFTConfig {
    /// A config object that makes PEFT build exactly these modules.
    ///
    /// When `original` already resolves every module to its rank and alpha,
    /// only `base_model_name_or_path` and `use_rslora` are brought up to date,
    /// so a PEFT → `.lora` → PEFT round trip returns the same config.
    /// Otherwise `r` and `lora_alpha` become the most common values and every
    /// other module gets an exact full-path entry in `rank_pattern` /
    /// `alpha_pattern`.
    public static func exportJSON(
        modules: [LoraModuleInfo], baseModel: String?, fanInFanOut: Bool,
        original: JSONValue?
    ) -> JSONValue {
        let rslora = modules.first?.useRSLoRA ?? false
        if let original, case .object = original, let config = try? PEFTConfig(json: original, path: ""),
            config.useRSLoRA == rslora,
            coversTargets(original["target_modules"], modules),
            modules.allSatisfy({ config.rank(for: $0.path) == $0.rank && config.alpha(for: $0.path) == $0.alpha })
        {
            return replacing(
                original,
                [
                    ("base_model_name_or_path", baseModel.map(JSONValue.string) ?? .null),
                    ("use_rslora", .bool(rslora)),
                ])
        }
        let r = mostCommon(modules.map(\.rank)) ?? 8
        let alpha = mostCommon(modules.map(\.alpha)) ?? Double(r)
        let rankPattern = modules.filter { $0.rank != r }.map { ($0.path, JSONValue.int($0.rank)) }
        let alphaPattern = modules.filter { $0.alpha != alpha }.map { ($0.path, JSONValue.number($0.alpha)) }
        var targets = Array(Set(modules.map(\.targetName))).sorted()
        if targets.isEmpty { targets = [] }
        let fresh: [(String, JSONValue)] = [
            ("alpha_pattern", .object(alphaPattern.map { (key: $0.0, value: $0.1) })),
            ("base_model_name_or_path", baseModel.map(JSONValue.string) ?? .null),
            ("bias", "none"),
            ("fan_in_fan_out", .bool(fanInFanOut)),
            ("inference_mode", true),
            ("init_lora_weights", true),
            ("lora_alpha", .number(alpha)),
            ("lora_dropout", .double(0)),
            ("modules_to_save", .null),
            ("peft_type", "LORA"),
            ("r", .int(r)),
            ("rank_pattern", .object(rankPattern.map { (key: $0.0, value: $0.1) })),
            ("target_modules", .array(targets.map { .string($0) })),
            ("task_type", "CAUSAL_LM"),
            ("use_dora", false),
            ("use_rslora", .bool(rslora)),
        ]
        guard let original, case .object(let pairs) = original else {
            return .object(fresh.map { (key: $0.0, value: $0.1) })
        }
        // Keep the original's other settings (task_type, dropout, peft_version, ...).
        var kept = pairs.filter { p in
            !fresh.contains { $0.0 == p.key } && p.key != "layers_to_transform" && p.key != "layers_pattern"
        }
        for (k, v) in fresh {
            if ["task_type", "lora_dropout", "inference_mode"].contains(k), let old = original[k] {
                kept.append((k, old))
            } else {
                kept.append((k, v))
            }
        }
        return JSONValue.object(kept).canonicalized
    }

    /// Whether a `target_modules` value names every module (a string is a
    /// regex or `all-linear`, which PEFT resolves itself).
    private static func coversTargets(_ value: JSONValue?, _ modules: [LoraModuleInfo]) -> Bool {
        guard let list = value?.arrayValue else { return value?.stringValue != nil }
        let names = Set(list.compactMap(\.stringValue))
        return modules.allSatisfy { names.contains($0.targetName) || names.contains($0.path) }
    }

    private static func replacing(_ object: JSONValue, _ updates: [(String, JSONValue)]) -> JSONValue {
        guard case .object(var pairs) = object else { return object }
        for (k, v) in updates {
            if let i = pairs.firstIndex(where: { $0.key == k }) { pairs[i].value = v } else { pairs.append((k, v)) }
        }
        return .object(pairs)
    }

    private static func mostCommon<T: Hashable & Comparable>(_ values: [T]) -> T? {
        var counts: [T: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }
}
