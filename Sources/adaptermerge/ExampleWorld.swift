import ArgumentParser
import AdapterFormat
import ExampleWorld

extension Example {
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
            for (name, n) in [
                ("--pretrain", pretrain), ("--train", train), ("--dev", dev), ("--test", test),
                ("--parallel", parallel), ("--parallel-test", parallelTest), ("--parallel-dev", parallelDev),
            ] {
                guard (0...World.maximumRows).contains(n) else {
                    throw ValidationError("\(name) must be between 0 and \(World.maximumRows)")
                }
            }
        }

        func run() throws {
            var sizes = WorldGenerator.Sizes()
            sizes.pretrainPerLanguage = pretrain
            sizes.taskTrain = train
            sizes.devPerLanguage = dev
            sizes.testPerLanguage = test
            sizes.parallelTrainPerLanguage = parallel
            sizes.parallelTestPerLanguage = parallelTest
            sizes.parallelDevPerLanguage = parallelDev
            try FileSystem.checkOutput(output, kind: .directory(marker: "world.json"), overwrite: replace.force)
            let files = WorldGenerator(seed: seed, sizes: sizes).files()
            try ExampleFiles.write(files, to: output, marker: "world.json", overwrite: replace.force)
            for (name, rows) in files where name != "world.json" { print("\(name): \(rows.count) rows") }
            print("wrote \(output) (seed \(seed))")
        }
    }
}
