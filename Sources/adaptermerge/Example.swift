import ArgumentParser
import AdapterFormat
import ExampleWorld

struct Example: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate example data.",
        subcommands: [World.self]
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
            ("label: value; …" or "None"), lang, utterance; parallel_train.jsonl
            (aligned languages) and parallel_test.jsonl (every language):
            text_parallel_0, text_parallel_1, lang.

            Examples:
              adaptermerge example world -o world/ --seed 1
              adaptermerge example world -o small/ --pretrain 500 --train 300
            """
        )

        @Option(name: .shortAndLong, help: "The output directory.") var output: String
        @Option(help: "Seed.") var seed: UInt64 = 1
        @Option(help: "Pretraining rows per language.") var pretrain = 4000
        @Option(help: "English task training rows.") var train = 2000
        @Option(help: "Task dev rows per language.") var dev = 60
        @Option(help: "Task test rows per language.") var test = 150
        @Option(help: "Parallel training pairs per aligned language.") var parallel = 800
        @Option(help: "Parallel test pairs per language.") var parallelTest = 100
        @Flag(help: "Replace the files of an existing directory.") var force = false

        func validate() throws {
            for (name, n) in [("--pretrain", pretrain), ("--train", train), ("--dev", dev), ("--test", test),
                              ("--parallel", parallel), ("--parallel-test", parallelTest)] where n < 0 {
                throw ValidationError("\(name) must not be negative")
            }
        }

        func run() throws {
            let exists = FileSystem.exists(output)
            if exists && !force { throw FormatError(.outputExists, "already exists (use --force to overwrite)", path: output) }
            if exists && !FileSystem.isDirectory(output) { throw FormatError(.outputExists, "exists and is not a directory", path: output) }
            var sizes = WorldGenerator.Sizes()
            sizes.pretrainPerLanguage = pretrain
            sizes.taskTrain = train
            sizes.devPerLanguage = dev
            sizes.testPerLanguage = test
            sizes.parallelTrainPerLanguage = parallel
            sizes.parallelTestPerLanguage = parallelTest
            let files = WorldGenerator(seed: seed, sizes: sizes).files()
            // A new directory is assembled beside the destination and renamed into place.
            let target = exists ? output : try FileSystem.makeTemporaryDirectory(near: output)
            var committed = false
            defer { if !exists && !committed { FileSystem.removeShallowDirectory(target) } }
            for (name, rows) in files {
                let text = name.hasSuffix(".json") ? rows.map { $0.prettyText() + "\n" }.joined()
                                                   : rows.map { $0.compactText + "\n" }.joined()
                let out = try AtomicFileWriter(destination: FileSystem.join(target, name), overwrite: true)
                try out.write(Array(text.utf8))
                try out.commit()
            }
            if !exists { try FileSystem.moveDirectory(target, to: output) }
            committed = true
            for (name, rows) in files where name != "world.json" { print("\(name): \(rows.count) rows") }
            print("wrote \(output) (seed \(seed))")
        }
    }
}
