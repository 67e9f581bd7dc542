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

    @Option(help: "A JSON-lines file with prefix, text and optional lang.")
    var data: String

    @OptionGroup var format: JSONOption

    func run() throws {
        let loaded = try modelOptions.load()
        let (model, tokenizer, adapters) = (loaded.model, loaded.tokenizer, loaded.adapters)
        let rows = try JSONLines.read(data)
        let examples = try rows.map {
            try $0.scoringExample(tokenizer: tokenizer, maxLength: model.config.maxPositionEmbeddings)
        }
        let progress = Progress("scoring", total: examples.count)
        let results = try Scoring.losses(
            rows: rows, examples: examples, model: model, adapters: adapters, batchSize: modelOptions.batchSize,
            padID: tokenizer.padID ?? 0, progress: progress.advance)
        progress.finish()
        var byLanguage: [String: [Double]] = [:]
        var order: [String] = []
        for (row, r) in zip(rows, results) {
            let lang = row.optionalString("lang") ?? "-"
            if byLanguage[lang] == nil { order.append(lang) }
            byLanguage[lang, default: []].append(r.loss)
        }
        let means = order.map { ($0, byLanguage[$0]!.reduce(0, +) / Double(byLanguage[$0]!.count)) }
        if format.json {
            let doc: JSONValue = [
                "examples": .array(
                    zip(rows, results).enumerated().map { i, pair in
                        [
                            "index": .int(i), "lang": pair.0.optionalString("lang").map(JSONValue.string) ?? .null,
                            "loss": .double(pair.1.loss), "tokens": .int(pair.1.tokens),
                        ]
                    }),
                "languages": .object(means.map { (key: $0.0, value: .double($0.1)) }),
            ]
            print(doc.prettyText())
        } else {
            print(Format.pad("lang", 8) + Format.padLeft("examples", 10) + Format.padLeft("mean loss", 12))
            for (lang, mean) in means {
                print(
                    Format.pad(lang, 8) + Format.padLeft(String(byLanguage[lang]!.count), 10)
                        + Format.padLeft(Format.fixed(mean, 4), 12))
            }
        }
    }
}
