import AdapterFormat

/// What `--model` names: a Hugging Face directory (config.json, safetensors,
/// tokenizer.json) or a GGUF file, which holds all three.
public enum ModelPath {
    /// Whether `path` is to be read as a GGUF file: any regular file (a
    /// directory is a Hugging Face checkpoint). Opening says what is wrong
    /// with a file that is not GGUF.
    public static func isGGUF(_ path: String) -> Bool { FileSystem.isRegularFile(path) }
}

extension ModelConfig {
    /// The hyperparameters of the model at `path` (``ModelPath``).
    public init(path: String) throws {
        if ModelPath.isGGUF(path) {
            try self.init(gguf: try GGUFFile(path: path))
        } else {
            try self.init(directory: path)
        }
    }
}

extension Tokenizer {
    /// The tokenizer of the model at `path` (``ModelPath``).
    public convenience init(model path: String) throws {
        if ModelPath.isGGUF(path) {
            try self.init(gguf: try GGUFFile(path: path))
        } else {
            try self.init(directory: path)
        }
    }
}

extension ModelIdentity {
    /// ``of(directory:)`` for a directory; for a GGUF file, `general.name`
    /// qualified by a hash of its header (metadata and tensor layout), since
    /// one model's quantizations differ in weights.
    public static func of(path: String) throws -> String {
        guard ModelPath.isGGUF(path) else { return try of(directory: path) }
        let file = try GGUFFile(path: path)
        let header = try MappedFile(path: path).copy(0..<file.dataOffset)
        let hash = "gguf-xxh64:" + XXH64.hex(XXH64.hash(header))
        guard let name = try file.string("general.name"), !name.isEmpty else { return hash }
        return "\(name) (\(hash))"
    }
}

extension ModelConfig {
    /// How llama.cpp lays this model out (Mistral files use the `llama` architecture).
    public var llamaCppLayout: LlamaCppLayout {
        LlamaCppLayout(
            architecture: modelType == .qwen2 ? "qwen2" : "llama", headCount: headCount,
            keyValueHeadCount: keyValueHeadCount)
    }
}
