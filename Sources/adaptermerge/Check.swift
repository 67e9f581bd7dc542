import ArgumentParser
import AdapterFormat
import Evaluation
import Foundation
import Transformer

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a candidate adapter on held-out languages against a baseline, with gates for CI.",
        discussion: """
            Per language (the "lang" field), for the candidate and the baseline: the
            task loss of the reference "text" given "prefix", greedy exact match,
            chrF for free-form references (e.g. translations), slot micro-F1 and
            slot-label F1 when the references follow the "label: value; label:
            value" convention ("None" for no slots; the values are mapped onto the
            row's "utterance", or its prefix), and with --pairs the retrieval
            accuracy of parallel sentences at the alignment layer. Languages are
            grouped as seen in task data, seen in alignment data, and held out,
            from the adapters' metadata (or the flags).

            chrF is sacreBLEU's default chrF (character 6-grams, beta 2, whitespace
            removed; signature nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no), on
            its 0-100 scale: per language, the corpus score of the greedy outputs'
            first lines against the rows' "text", from n-gram statistics summed over
            the rows. Group rows are means over their languages, as for every metric.

            Exit status: 0 when every gate passes, 1 naming the failed gate, 2 for
            usage or input errors.

            Examples:
              adaptermerge check --model model/ --adapter merged.lora --baseline task.lora --data test.jsonl --pairs pairs.jsonl
              adaptermerge check --model model/ --adapter task.lora --adapter align.lora:0.5 --baseline task.lora \\
                  --data test.jsonl --min-gain 0.01 --markdown "$GITHUB_STEP_SUMMARY" --force
              adaptermerge check --model model/ --adapter merged.lora --baseline task.lora --data translate.jsonl \\
                  --min-chrf-gain 1 --max-loss-increase 0.05
              adaptermerge check --model model/ --adapter merged.lora --data test.jsonl --html report.html --json
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var prompt: PromptOption

    @Option(
        parsing: .singleValue,
        help: "A baseline adapter as file[:weight] (repeatable); without one, the base model is the baseline.")
    var baseline: [AdapterSpec] = []

    @Flag(help: "Compare with no baseline at all (no deltas, no gates).")
    var noBaseline = false

    @Option(help: "Comma-separated JSON-lines task files: prefix, text, optional lang and utterance.")
    var data: String

    @Option(help: "A JSON-lines file of parallel rows (text_parallel_0, text_parallel_1, lang) for retrieval.")
    var pairs: String?

    @Option(help: "Only these languages (comma-separated).")
    var languages: String?

    @Option(help: "Languages seen in task data (overrides the adapters' metadata).")
    var taskLanguages: String?

    @Option(help: "Languages seen in alignment data (overrides the adapters' metadata).")
    var alignLanguages: String?

    @Option(help: "The alignment layer for retrieval (default: the candidate's recipe, else L/2).")
    var layer: Int?

    @Option(help: "Fail (exit 1) unless the held-out slot F1 (or exact match) gains at least this over the baseline.")
    var minGain: Double?

    @Option(help: "Fail (exit 1) if the held-out loss rises more than this over the baseline.")
    var maxLossIncrease: Double?

    @Option(help: "Fail (exit 1) unless the held-out chrF gains at least this over the baseline (chrF points, 0-100).")
    var minChrfGain: Double?

    @OptionGroup var format: JSONOption

    @Option(help: "Also write a Markdown summary (for CI step summaries).")
    var markdown: String?

    @Option(help: "Also write a self-contained HTML report with SVG plots.")
    var html: String?

    @Option(
        help:
            "Also write each task row's greedy outputs as JSON lines: index, lang, prefix, reference, candidate, baseline."
    )
    var outputs: String?

    @OptionGroup var replace: ForceOption

    func validate() throws {
        if noBaseline && !baseline.isEmpty { throw ValidationError("give --baseline or --no-baseline, not both") }
        if noBaseline && (minGain != nil || maxLossIncrease != nil || minChrfGain != nil) {
            throw ValidationError("gates need a baseline")
        }
        if let layer, layer < 0 { throw ValidationError("--layer must not be negative") }
        for (name, value) in [
            ("--min-gain", minGain), ("--max-loss-increase", maxLossIncrease), ("--min-chrf-gain", minChrfGain),
        ] {
            if let value, !value.isFinite { throw ValidationError("\(name) must be a finite number") }
        }
        for (name, value) in [
            ("--languages", languages), ("--task-languages", taskLanguages), ("--align-languages", alignLanguages),
            ("--data", data),
        ] {
            if let value { _ = try OptionList.items(value, option: name) }
        }
    }

    func run() throws {
        try OutputFiles.check([markdown, html, outputs], force: replace.force)
        let loaded = try modelOptions.load()
        let list = { (text: String?, option: String) in try text.map { try OptionList.items($0, option: option) } }
        var check = try CandidateCheck(
            model: loaded.model, tokenizer: loaded.tokenizer,
            candidate: .init(
                adapters: loaded.sources, name: modelOptions.adapters.map(\.text).joined(separator: " + ")),
            baseline: noBaseline
                ? nil
                : .init(
                    adapters: try baseline.map { try $0.open() },
                    name: baseline.isEmpty ? "base model" : baseline.map(\.text).joined(separator: " + ")),
            rows: try OptionList.items(data, option: "--data").flatMap { try JSONLines.read($0) },
            pairs: try pairs.map { try JSONLines.read($0) } ?? [],
            languages: try list(languages, "--languages").map(Set.init),
            taskLanguages: try list(taskLanguages, "--task-languages"),
            alignmentLanguages: try list(alignLanguages, "--align-languages"), layer: layer)
        check.batchSize = modelOptions.batchSize
        check.promptTokenization = prompt.promptTokenization
        let progress = Progress("checking", total: check.plannedDecodes)
        let (report, candidate, baselineResult) = try check.run(
            minimumGain: minGain, maximumLossIncrease: maxLossIncrease, minimumChrFGain: minChrfGain,
            progress: { progress.advance($0) })
        progress.finish()

        if let markdown { try AtomicFileWriter.write(report.markdown, to: markdown, overwrite: replace.force) }
        if let html { try AtomicFileWriter.write(report.html, to: html, overwrite: replace.force) }
        if let outputs {
            try AtomicFileWriter.write(
                try check.outputLines(candidate: candidate, baseline: baselineResult), to: outputs,
                overwrite: replace.force)
        }
        print(format.json ? report.json.prettyText() : report.text, terminator: format.json ? "\n" : "")
        let failed = report.failedGates
        if !failed.isEmpty {
            throw CheckFailure(message: failed.map { "gate \($0.name) failed: \($0.detail)" }.joined(separator: "; "))
        }
    }
}
