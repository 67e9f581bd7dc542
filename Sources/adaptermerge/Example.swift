import ArgumentParser
import AdapterFormat
import ExampleWorld
import Transformer

struct Example: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate example data, and summarize the study made from it.",
        subcommands: [World.self, TokenizerCommand.self, Study.self]
    )

    struct World: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a small multilingual world: pretraining text, a slot-filling task, parallel sentences.",
            discussion: """
            English and six languages made from it by systematic sound and
            spelling changes: xa and xb close to English, xc and xd with other
            word orders, xe and xf in Cyrillic and Greek letters. xa, xc and xe
            are aligned (parallel data with English), xb, xd and xf held out
            (they appear only in pretraining, dev and test). Deterministic from
            --seed; world.json records the languages and counts.

            Files: pretrain.jsonl (text, lang); task_train.jsonl (English) and
            task_dev.jsonl, task_test.jsonl (every language): prefix, text
            (" label: value; …" or " None", ending in a newline), lang, utterance; parallel_train.jsonl
            and parallel_dev.jsonl (aligned languages) and parallel_test.jsonl
            (every language): text_parallel_0, text_parallel_1, lang.

            Examples:
              adaptermerge example world -o world/ --seed 1
              adaptermerge example world -o small/ --pretrain 500 --train 300
            """
        )

        /// The most rows any one count may ask for (bounded work and memory).
        static let maximumRows = 1_000_000

        @Option(name: .shortAndLong, help: "The output directory.") var output: String
        @Option(help: "Seed.") var seed: UInt64 = 1
        @Option(help: "Pretraining rows per language.") var pretrain = 4000
        @Option(help: "English task training rows.") var train = 2000
        @Option(help: "Task dev rows per language.") var dev = 60
        @Option(help: "Task test rows per language.") var test = 150
        @Option(help: "Parallel training pairs per aligned language.") var parallel = 800
        @Option(help: "Parallel test pairs per language.") var parallelTest = 100
        @Option(help: "Parallel dev pairs per aligned language.") var parallelDev = 40
        @OptionGroup var replace: ForceOption

        func validate() throws {
            for (name, n) in [("--pretrain", pretrain), ("--train", train), ("--dev", dev), ("--test", test),
                              ("--parallel", parallel), ("--parallel-test", parallelTest), ("--parallel-dev", parallelDev)] {
                guard (0...World.maximumRows).contains(n) else {
                    throw ValidationError("\(name) must be between 0 and \(World.maximumRows)")
                }
            }
        }

        func run() throws {
            let out = try AtomicDirectoryWriter(destination: output, overwrite: replace.force, marker: "world.json")
            var sizes = WorldGenerator.Sizes()
            sizes.pretrainPerLanguage = pretrain
            sizes.taskTrain = train
            sizes.devPerLanguage = dev
            sizes.testPerLanguage = test
            sizes.parallelTrainPerLanguage = parallel
            sizes.parallelTestPerLanguage = parallelTest
            sizes.parallelDevPerLanguage = parallelDev
            let files = WorldGenerator(seed: seed, sizes: sizes).files()
            for (name, rows) in files {
                let text = name.hasSuffix(".json") ? rows.map { $0.prettyText() + "\n" }.joined()
                                                   : rows.map { $0.compactText + "\n" }.joined()
                try AtomicFileWriter.write(text, to: out.path(name), overwrite: true)
            }
            try out.commit()
            for (name, rows) in files where name != "world.json" { print("\(name): \(rows.count) rows") }
            print("wrote \(output) (seed \(seed))")
        }
    }

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
        @Option(name: .shortAndLong, help: "The directory to write the two files into (created if missing).") var output: String
        @OptionGroup var replace: ForceOption

        func validate() throws {
            guard (259...(1 << 20)).contains(vocabSize) else {
                throw ValidationError("--vocab-size must be between 259 (256 bytes and 3 special tokens) and \(1 << 20)")
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
            let texts = try OptionList.items(data, option: "--data").flatMap { try JSONLines.read($0) }.map { try $0.string(field) }
            let result = try BPETrainer.train(texts, vocabularySize: vocabSize, minimumFrequency: minFrequency)
            if !FileSystem.exists(output) { try FileSystem.createDirectory(output) }
            for (path, json) in zip(files, [result.tokenizer, result.config]) {
                try AtomicFileWriter.write(json.prettyText(indent: 2) + "\n", to: path, overwrite: replace.force)
            }
            print("trained \(result.merges) merges on \(texts.count) rows; wrote \(files.joined(separator: ", "))")
        }
    }
}
