import ArgumentParser
import AdapterFormat
import AdapterMath
import Evaluation
import Foundation
import Transformer

struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the alignment adapter's merge weight on dev data, leaving one language out.",
        discussion: """
            The candidate is task + w · align (unmerged, as check runs it); with
            --cuts, also task + w · align on the layers below each cut only. Each
            weight of --grid is scored on the dev rows per language with --metric,
            then golden-section steps refine around the best grid point. The
            weight is chosen on all dev languages; leave-one-language-out reports,
            for each language, the weight chosen on the others and that language's
            score there, so no language judges a weight fitted to it. Test data is
            never read. --metric chrf scores each language's greedy outputs by
            sacreBLEU's default chrF (0-100), as check reports it.

            Examples:
              adaptermerge tune --model model/ --task task.lora --align align.lora --dev dev.jsonl
              adaptermerge tune --model model/ --task task.lora --align align.lora --dev dev.jsonl --metric loss \\
                  --grid 0,0.25,0.5,1 --svg tune.svg -o merged.lora
              adaptermerge tune --model model/ --task task.lora --align align.lora --dev dev.jsonl --cuts 8,16,24
              adaptermerge tune --model model/ --task task.lora --align align.lora --dev translate-dev.jsonl --metric chrf
            """
    )

    @Option(help: "A Hugging Face model directory or a GGUF file.") var model: String
    @Option(help: "The task adapter (weight 1).") var task: String
    @Option(help: "The alignment adapter whose weight is searched.") var align: String
    @Option(help: "Comma-separated JSON-lines dev files (prefix, text, lang).") var dev: String
    @Option(
        help:
            "slot_f1, exact, loss or chrf (sacreBLEU's chrF of the outputs on free-form references, 0-100); default: slot_f1 when the references are slots, else loss."
    ) var metric: MergeTuning.Metric?
    @Option(help: "Comma-separated grid of alignment weights.") var grid = "0,0.25,0.5,0.75,1"
    @Option(help: "Golden-section steps after the grid.") var refine = 4
    @Option(
        help:
            "Also try the alignment adapter only below each of these layers (comma-separated; band cut-=0), besides on every layer."
    )
    var cuts: String?
    @Option(help: ModelOptions.batchSizeHelp)
    var batchSize = 8
    @Option(help: "Write the curve (score against weight) as an SVG file.") var svg: String?
    @Option(name: .shortAndLong, help: "Write task + w·align merged (concat) with the chosen w and the tuning record.")
    var output: String?
    @OptionGroup var format: JSONOption
    @OptionGroup var prompt: PromptOption
    @OptionGroup var memory: WeightMemoryOption
    @OptionGroup var encoding: AdapterEncodingOptions
    @OptionGroup var replace: ForceOption

    var weights: [Double] {
        get throws {
            try OptionList.items(grid, option: "--grid").map {
                guard let w = Double($0), w.isFinite, abs(w) <= 1e6 else {
                    throw ValidationError("--grid: \"\($0)\" is not a weight between -1e6 and 1e6")
                }
                return w
            }
        }
    }

    /// The layer bands to try: nil is every layer, k is layers below k only.
    var bandCuts: [Int?] {
        get throws {
            guard let cuts else { return [nil] }
            return [nil]
                + (try OptionList.items(cuts, option: "--cuts").map {
                    guard let k = Int($0), k > 0 else {
                        throw ValidationError("--cuts: \"\($0)\" is not a positive layer index")
                    }
                    return k
                })
        }
    }

    func validate() throws {
        guard try weights.count <= 1000 else { throw ValidationError("--grid takes at most 1000 weights") }
        guard try bandCuts.count <= 257 else { throw ValidationError("--cuts takes at most 256 layers") }
        guard (0...100).contains(refine) else { throw ValidationError("--refine must be between 0 and 100") }
        _ = try OptionList.items(dev, option: "--dev")
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        try OutputFiles.check([svg], force: replace.force)
        if let output { try AdapterWriter.checkOutput(output, format: encoding.outputFormat, overwrite: replace.force) }
        let transformer = try TransformerModel(path: model, residency: memory.weightMemory)
        let taskSource = try AdapterReader.open(task, layout: transformer.config.llamaCppLayout)
        let alignSource = try AdapterReader.open(align, layout: transformer.config.llamaCppLayout)
        var tuning = try MergeTuning(
            model: transformer, tokenizer: try Tokenizer(model: model), task: taskSource, align: alignSource,
            devFiles: try OptionList.items(dev, option: "--dev"), metric: metric, grid: try weights,
            refinements: refine, cuts: try bandCuts.compactMap { $0 })
        tuning.batchSize = batchSize
        tuning.promptTokenization = prompt.promptTokenization
        let progress = Progress("tuning", total: tuning.plannedEvaluations)
        let result = try tuning.run(progress: progress.advance)
        progress.finish()

        if let svg { try AtomicFileWriter.write(TuneText.chart(result), to: svg, overwrite: replace.force) }
        if let output {
            var options = MergeOptions(method: .concat, weights: [1, result.chosenWeight], dtype: encoding.dtype.dtype)
            options.layerBands = try MergeTuning.bands(result.chosenCut)
            _ = try AdapterMerger(inputs: [taskSource, alignSource], options: options)
                .write(
                    to: output, overwrite: replace.force, options: encoding.writeOptions(model: transformer.config),
                    lineageExtras: [("tuning", result.json)])
        }
        print(
            format.json ? result.json.prettyText() : TuneText.render(result, output: output),
            terminator: format.json ? "\n" : "")
    }
}

extension MergeTuning.Metric: ExpressibleByArgument {}
