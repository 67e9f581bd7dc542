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
        never read.

        Examples:
          adaptermerge tune --model model/ --task task.lora --align align.lora --dev dev.jsonl
          adaptermerge tune --model model/ --task task.lora --align align.lora --dev dev.jsonl --metric loss \\
              --grid 0,0.25,0.5,1 --svg tune.svg -o merged.lora
          adaptermerge tune --model model/ --task task.lora --align align.lora --dev dev.jsonl --cuts 8,16,24
        """
    )

    enum Metric: String, ExpressibleByArgument, CaseIterable {
        case slotF1 = "slot_f1", exact, loss
    }

    @Option(help: "A Hugging Face model directory.") var model: String
    @Option(help: "The task adapter (weight 1).") var task: String
    @Option(help: "The alignment adapter whose weight is searched.") var align: String
    @Option(help: "Comma-separated JSON-lines dev files (prefix, text, lang).") var dev: String
    @Option(help: "slot_f1, exact or loss (default: slot_f1 when the references are slots, else loss).") var metric: Metric?
    @Option(help: "Comma-separated grid of alignment weights.") var grid = "0,0.25,0.5,0.75,1"
    @Option(help: "Golden-section steps after the grid.") var refine = 4
    @Option(help: "Also try the alignment adapter only below each of these layers (comma-separated; band cut-=0), besides on every layer.")
    var cuts: String?
    @Option(help: "Sequences per forward pass.") var batchSize = 8
    @Option(help: "Write the curve (score against weight) as an SVG file.") var svg: String?
    @Option(name: .shortAndLong, help: "Write task + w·align merged (concat) with the chosen w and the tuning record.")
    var output: String?
    @OptionGroup var format: JSONOption
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
            return [nil] + (try OptionList.items(cuts, option: "--cuts").map {
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
        if let output { try AdapterWriter.checkOutput(output, overwrite: replace.force) }
        let transformer = try TransformerModel(directory: model)
        let tokenizer = try Tokenizer(directory: model)
        let taskSource = try AdapterReader.open(task), alignSource = try AdapterReader.open(align)
        let devFiles = try OptionList.items(dev, option: "--dev")
        let rows = try devFiles.flatMap { try JSONLines.read($0) }
        let hasSlots = try rows.contains { SlotFilling.looksLikeSlots(try $0.string("text")) }
        if metric == .slotF1 && !hasSlots {
            throw ValidationError("--metric slot_f1: no dev row's text is a slot reference (\"label: value; …\" or \"None\"); use exact or loss")
        }
        if let cut = try bandCuts.compactMap({ $0 }).first(where: { $0 > transformer.config.layerCount }) {
            throw ValidationError("--cuts: layer \(cut) is past the model's \(transformer.config.layerCount) layers")
        }
        let chosenMetric = metric ?? (hasSlots ? .slotF1 : .loss)
        var check = HeldOutCheck(model: transformer, tokenizer: tokenizer, rows: rows, pairs: [], layer: 0)
        check.batchSize = batchSize
        check.decodes = chosenMetric != .loss
        let reportMetric: CheckReport.Metric = chosenMetric == .slotF1 ? .slotF1 : chosenMetric == .exact ? .exactMatch : .loss
        let languages = check.languages

        let cutsToTry = try bandCuts
        let progress = Progress("tuning", total: cutsToTry.count * (try weights.count + refine * (languages.count + 1)))
        func bands(_ cut: Int?) throws -> [Int: LayerBands] {
            guard let cut else { return [:] }
            return [1: try LayerBands(parsing: "\(cut)-=0")]
        }
        // One weight search per band; the best (band, weight) wins, on all languages and left out one at a time.
        let searches = try cutsToTry.map { cut in
            let layerBands = try bands(cut)
            return WeightSearch(grid: try weights, refinements: refine) { w in
                let stack = try AdapterStack(adapters: [(taskSource, 1), (alignSource, w)], config: transformer.config,
                                             layerBands: layerBands)
                let result = try check.run(stack)
                progress.advance(1)
                var scores: [String: Double] = [:]
                for (lang, m) in result.metrics {
                    guard let v = reportMetric.value(m) else { continue }
                    scores[lang] = reportMetric.higherIsBetter ? v : -v
                }
                return scores
            }
        }
        func bestSetting(over langs: [String]) throws -> (band: Int, weight: Double, score: Double) {
            var best: (band: Int, weight: Double, score: Double)?
            for (b, search) in searches.enumerated() {
                let r = try search.best(over: langs)
                if best == nil || r.score > best!.score { best = (b, r.weight, r.score) }
            }
            return best!
        }
        let chosenSetting = try bestSetting(over: languages)
        guard chosenSetting.score.isFinite else {
            throw FormatError(.invalidContent, "no weight gave a finite dev \(reportMetric.title) (every row unscored?); nothing is chosen",
                              path: devFiles[0])
        }
        let chosen = (weight: chosenSetting.weight, score: chosenSetting.score)
        let chosenCut = cutsToTry[chosenSetting.band]
        let search = searches[chosenSetting.band]
        let lolo = languages.count < 2 ? [] : try languages.map { held -> (language: String, weight: Double, cut: Int?, score: Double) in
            let pick = try bestSetting(over: languages.filter { $0 != held })
            return (held, pick.weight, cutsToTry[pick.band], try searches[pick.band].score(pick.weight, over: [held]))
        }
        progress.finish()

        // Scores in the metric's own sign, for people.
        func shown(_ oriented: Double) -> Double { reportMetric.higherIsBetter ? oriented : -oriented }
        func bandText(_ cut: Int?) -> String { cut.map { "layers < \($0)" } ?? "all layers" }
        let curveWeights = search.evaluated.keys.sorted()
        let curve = try curveWeights.map { w in (w, shown(try search.score(w, over: languages))) }
        let perLanguage = try languages.map { lang in (lang, try curveWeights.map { shown(try search.score($0, over: [lang])) }) }
        let baselineScore = shown(try searches[0].score(0, over: languages))

        if let svg {
            let chart = SVGChart.lineChart(title: "Dev \(reportMetric.title) against the alignment weight (\(bandText(chosenCut)))",
                                           xLabel: "alignment weight", yLabel: reportMetric.title, x: curveWeights,
                                           series: [("mean", curve.map(\.1))] + perLanguage, highlightX: chosen.weight)
            try AtomicFileWriter.write(chart, to: svg, overwrite: replace.force)
        }
        let record: JSONValue = [
            "metric": .string(chosenMetric.rawValue),
            "grid": .array(try weights.map(JSONValue.number)),
            "refinements": .int(refine),
            "cuts_tried": .array(cutsToTry.map { $0.map { .int($0) } ?? .null }),
            "dev": .array(try devFiles.map { ["path": .string($0), "xxh64": .string(XXH64.hex(XXH64.hash(try FileSystem.readFile($0, limit: JSONLines.maximumFileSize))))] }),
            "languages": .array(languages.map(JSONValue.string)),
            "chosen_weight": .number(chosen.weight),
            "chosen_cut": chosenCut.map { .int($0) } ?? .null,
            "chosen_score": .number(shown(chosen.score)),
            "curve": .array(curve.map { ["weight": .number($0.0), "score": .number($0.1)] }),
            "leave_one_language_out": .array(lolo.map { ["language": .string($0.language), "weight": .number($0.weight),
                                                        "cut": $0.cut.map { .int($0) } ?? .null, "score": .number(shown($0.score))] }),
        ]
        if let output {
            var options = MergeOptions(method: .concat, weights: [1, chosen.weight])
            options.layerBands = try bands(chosenCut)
            let merger = try AdapterMerger(inputs: [taskSource, alignSource], options: options)
            var metadata = merger.outputMetadata(inputHashes: try [taskSource, alignSource].map { try $0.contentHash() })
            if case .object(var fields) = metadata.lineage ?? .object([]) {
                fields.append((key: "tuning", value: record))
                metadata.lineage = .object(fields)
            }
            try AdapterWriter.write(modules: merger.outputModules, metadata: metadata, to: output, overwrite: replace.force,
                                    dtype: encoding.dtype.dtype, options: encoding.writeOptions) { module in
                let merged = try merger.merge(module)
                return (merged.a, merged.b)
            }
        }
        if format.json {
            print(record.prettyText())
            return
        }
        print("metric: dev \(reportMetric.title) (\(reportMetric.higherIsBetter ? "higher" : "lower") is better) on \(languages.joined(separator: ", ")); curve for the alignment adapter on \(bandText(chosenCut))")
        print(Format.pad("weight", 9) + Format.padLeft("mean", 9) + languages.map { Format.padLeft($0, 9) }.joined())
        for (i, w) in curveWeights.enumerated() {
            print(Format.pad(Format.fixed(w, 3), 9) + Format.padLeft(Format.fixed(curve[i].1, 4), 9)
                  + perLanguage.map { Format.padLeft(Format.fixed($0.1[i], 4), 9) }.joined()
                  + (w == chosen.weight ? "  ← chosen" : ""))
        }
        if !lolo.isEmpty {
            print("\nleave one language out: the weight chosen on the other languages, and the left-out language's score there")
            for entry in lolo {
                print(Format.pad(entry.language, 9) + "w = " + Format.fixed(entry.weight, 3) + " on " + Format.pad(bandText(entry.cut), 14)
                      + "\(reportMetric.title) " + Format.fixed(shown(entry.score), 4))
            }
        }
        print("\nchosen alignment weight: \(Format.fixed(chosen.weight, 3)) on \(bandText(chosenCut)) (dev \(reportMetric.title) \(Format.fixed(shown(chosen.score), 4)); task adapter alone \(Format.fixed(baselineScore, 4)))")
        if let output {
            print("wrote \(output): task + \(Format.fixed(chosen.weight, 3)) · align on \(bandText(chosenCut)), with the tuning record in its lineage")
        }
    }
}
