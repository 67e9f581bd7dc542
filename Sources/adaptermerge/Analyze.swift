import ArgumentParser
import AdapterFormat
import Evaluation
import Transformer

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-layer cross-lingual retrieval accuracy of parallel sentences (the paper's analysis).",
        discussion: """
            For every layer 0…L, each text_parallel_0 sentence is matched by
            cosine similarity of mean-pooled hidden states (BOS included, padding
            excluded) against that language's text_parallel_1 sentences; accuracy
            is the share that find their own translation. The best layer is named,
            and --svg draws the per-layer curve.

            Examples:
              adaptermerge analyze --model model/ --pairs pairs.jsonl
              adaptermerge analyze --model model/ --adapter align.lora --pairs pairs.jsonl --svg curve.svg --json
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A JSON-lines file with text_parallel_0, text_parallel_1 and optional lang.")
    var pairs: String

    @Option(help: "Write the per-layer curve as an SVG file.")
    var svg: String?

    @OptionGroup var replace: ForceOption

    @OptionGroup var format: JSONOption

    func run() throws {
        try OutputFiles.check([svg], force: replace.force)
        let loaded = try modelOptions.load()
        let analysis = try RetrievalAnalysis(
            rows: try JSONLines.read(pairs), model: loaded.model, tokenizer: loaded.tokenizer,
            adapters: loaded.adapters,
            batchSize: modelOptions.batchSize)
        let (languages, perLanguage, mean, layers, best) = (
            analysis.languages, analysis.perLanguage, analysis.mean,
            analysis.layers, analysis.bestLayer
        )

        if let svg {
            let chart = SVGChart.lineChart(
                title: "Cross-lingual retrieval by layer", xLabel: "layer", yLabel: "accuracy",
                x: layers.map(Double.init),
                series: [("mean", mean)] + languages.map { ($0, perLanguage[$0]!) },
                highlightX: Double(best))
            try AtomicFileWriter.write(chart, to: svg, overwrite: replace.force)
        }
        if format.json {
            print(analysis.json.prettyText())
        } else {
            print(Format.pad("layer", 7) + Format.padLeft("mean", 8) + languages.map { Format.padLeft($0, 8) }.joined())
            for l in layers {
                print(
                    Format.pad(String(l), 7) + Format.padLeft(Format.fixed(mean[l], 3), 8)
                        + languages.map { Format.padLeft(Format.fixed(perLanguage[$0]![l], 3), 8) }.joined()
                        + (l == best ? "  ← best" : ""))
            }
        }
    }
}
