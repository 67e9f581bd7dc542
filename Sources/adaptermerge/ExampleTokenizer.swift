import ArgumentParser
import AdapterFormat
import Transformer

extension Example {
    struct TokenizerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tokenizer",
            abstract: "Train a ByteLevel BPE tokenizer (Llama 3 style) on JSON-lines text.",
            discussion: """
                Writes tokenizer.json and tokenizer_config.json, which transformers,
                the tokenizers library and adaptermerge read alike: the Llama 3
                split pattern, the 256 byte symbols, the merges in the order they
                were learned, and <|begin_of_text|> (BOS, added by the
                post-processor), <|end_of_text|> and <|pad|>.

                Examples:
                  adaptermerge example tokenizer --data world/pretrain.jsonl --vocab-size 2048 -o model/
                """
        )

        @Option(help: "Comma-separated JSON-lines files.") var data: String
        @Option(help: "The string field of each row to train on.") var field = "text"
        @Option(help: "Ids in all: 256 bytes, the merges and 3 special tokens.") var vocabSize = 2048
        @Option(help: "Pairs seen fewer times are not merged.") var minFrequency = 2
        @Option(name: .shortAndLong, help: "The directory to write the two files into (created if missing).")
        var output: String
        @OptionGroup var replace: ForceOption

        func validate() throws {
            guard (259...(1 << 20)).contains(vocabSize) else {
                throw ValidationError(
                    "--vocab-size must be between 259 (256 bytes and 3 special tokens) and \(1 << 20)")
            }
            guard minFrequency >= 1 else { throw ValidationError("--min-frequency must be at least 1") }
        }

        func run() throws {
            let files = ["tokenizer.json", "tokenizer_config.json"].map { FileSystem.join(output, $0) }
            if FileSystem.exists(output) {
                for file in files { try FileSystem.checkOutput(file, kind: .file, overwrite: replace.force) }
            } else {
                try FileSystem.checkOutput(output, kind: .directory(marker: "tokenizer.json"), overwrite: false)
            }
            let texts = try OptionList.items(data, option: "--data").flatMap { try JSONLines.read($0) }.map {
                try $0.string(field)
            }
            let result = try BPETrainer.train(texts, vocabularySize: vocabSize, minimumFrequency: minFrequency)
            if !FileSystem.exists(output) { try FileSystem.createDirectory(output) }
            for (path, json) in zip(files, [result.tokenizer, result.config]) {
                try AtomicFileWriter.write(json.prettyText(indent: 2) + "\n", to: path, overwrite: replace.force)
            }
            print("trained \(result.merges) merges on \(texts.count) rows; wrote \(files.joined(separator: ", "))")
        }
    }
}
