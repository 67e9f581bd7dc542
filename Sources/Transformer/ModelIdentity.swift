import AdapterFormat

/// The name adapters record for the base model they were trained on
/// (`base_model`, PEFT's `base_model_name_or_path`), which `combine` compares.
///
/// The directory's name is no identity (`model/`, `base/` and a copy
/// elsewhere all differ, and two different models may share one), so this is
/// the config's `_name_or_path` when it names the model (a hub id such as
/// `HuggingFaceTB/SmolLM2-135M`), and otherwise a hash of what defines the
/// model to an adapter: `config.json` (without keys that change with every
/// save: versions, dtype, `_name_or_path`) and `tokenizer.json`.
public enum ModelIdentity {
    /// Keys of config.json that do not change what an adapter applies to.
    static let volatileKeys: Set<String> = [
        "transformers_version", "torch_dtype", "dtype", "_name_or_path", "use_cache",
    ]

    /// `_name_or_path`, or `config-xxh64:<16 hex digits>`.
    public static func of(directory: String) throws -> String {
        let configPath = FileSystem.join(directory, "config.json")
        let config = try FileSystem.readJSON(configPath, limit: 16 << 20)
        if let name = config["_name_or_path"]?.stringValue, !name.isEmpty, !name.hasPrefix("/"), !name.hasPrefix(".") {
            return name
        }
        let kept = (config.objectValue ?? []).filter { !volatileKeys.contains($0.key) }
        var bytes = Array(JSONValue.object(kept).canonicalized.compactText.utf8)
        let tokenizer = FileSystem.join(directory, "tokenizer.json")
        if FileSystem.isRegularFile(tokenizer) {
            bytes.append(0x0A)
            bytes += try FileSystem.readFile(tokenizer, limit: 512 << 20)
        }
        return "config-xxh64:" + XXH64.hex(XXH64.hash(bytes))
    }
}
