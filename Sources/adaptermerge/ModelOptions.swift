import ArgumentParser
import AdapterFormat
import Transformer

/// `--model` and repeated `--adapter file[:weight]`, shared by the runtime commands.
struct ModelOptions: ParsableArguments {
    @Option(help: "A Hugging Face model directory (config.json, safetensors weights, tokenizer.json).")
    var model: String

    @Option(name: .customLong("adapter"),
            help: "A LoRA adapter to apply unmerged, as file[:weight] (repeatable; weight defaults to 1).")
    var adapters: [String] = []

    @Option(help: "Sequences per forward pass.")
    var batchSize: Int = 8

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        for spec in adapters { _ = try ModelOptions.parse(spec) }
    }

    /// Splits `path[:weight]`; a colon followed by a number is a weight.
    static func parse(_ spec: String) throws -> (path: String, weight: Double) {
        if let colon = spec.lastIndex(of: ":"), let w = Double(spec[spec.index(after: colon)...]) {
            guard w.isFinite else { throw ValidationError("adapter weight in \"\(spec)\" is not finite") }
            return (String(spec[..<colon]), w)
        }
        return (spec, 1)
    }

    /// Loads the model, its tokenizer and the adapter stack.
    func load() throws -> (model: TransformerModel, tokenizer: Tokenizer, adapters: AdapterStack) {
        let model = try TransformerModel(directory: self.model)
        let tokenizer = try Tokenizer(directory: self.model)
        let sources = try adapters.map { spec -> (source: any AdapterSource, weight: Double) in
            let (path, weight) = try ModelOptions.parse(spec)
            return (try AdapterReader.open(path), weight)
        }
        return (model, tokenizer, try AdapterStack(adapters: sources, config: model.config))
    }
}
