import ArgumentParser
import AdapterFormat
import Transformer

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Task loss per example and per language: cross-entropy of text given prefix.",
        discussion: """
            Each row of the JSON-lines data has "prefix", "text" and optionally
            "lang". The input is BOS + prefix + text, each part tokenized on its
            own; BOS and the prefix are masked, and the loss is the mean over the
            text's tokens (docs/DESIGN.md §6).

            Examples:
              adaptermerge score --model model/ --data dev.jsonl
              adaptermerge score --model model/ --adapter task.lora --adapter align.lora:0.5 --data dev.jsonl --json
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var prompt: PromptOption

    @Option(help: "A JSON-lines file with prefix, text and optional lang.")
    var data: String

    @OptionGroup var format: JSONOption

    func run() throws {
        let loaded = try modelOptions.load()
        let rows = try JSONLines.read(data)
        let progress = Progress("scoring", total: rows.count)
        let scores = try RowScores(
            rows: rows, model: loaded.model, tokenizer: loaded.tokenizer, adapters: loaded.adapters,
            batchSize: modelOptions.batchSize, prompt: prompt.promptTokenization, progress: progress.advance)
        progress.finish()
        if format.json {
            print(scores.json.prettyText())
        } else {
            print(Format.pad("lang", 8) + Format.padLeft("examples", 10) + Format.padLeft("mean loss", 12))
            for entry in scores.languages {
                print(
                    Format.pad(entry.language, 8) + Format.padLeft(String(entry.examples), 10)
                        + Format.padLeft(Format.fixed(entry.meanLoss, 4), 12))
            }
        }
    }
}
