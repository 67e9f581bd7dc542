import ArgumentParser
import AdapterFormat
import Evaluation

extension Example {
    struct Study: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Summarize the study's seeds (examples/world/reproduce, examples/real/reproduce) as mean ± sd: Markdown tables and the F1 chart.",
            discussion: """
                Each directory is one seed's output of examples/world/reproduce or
                examples/real/reproduce: results/base-retrieval.json (analyze --json on
                the base model), results/task.json, untuned.json, merged.json and
                joint.json (check --json), results/tune.json (tune --json), and
                optionally pretrain.jsonl, times.tsv and the trainers' step logs
                (task-log.jsonl, align-log.jsonl, joint-log.jsonl). A study whose checks
                score chrF and no slots is the translation study (examples/real): its
                tables lead with chrF and loss, and --into replaces the section between
                <!-- real-study:begin --> and <!-- real-study:end -->.
                Prints the Markdown unless --markdown is given.

                Examples:
                  adaptermerge example study .build/study/seed-1 .build/study/seed-2 .build/study/seed-3
                  adaptermerge example study .build/study/seed-* --svg docs/study/retrieval.svg --into docs/STUDY.md --force
                  adaptermerge example study .build/real-study/seed-* --into docs/STUDY.md
                """
        )

        @Argument(help: "Seed directories written by examples/world/reproduce or examples/real/reproduce.") var seeds:
            [String]
        @Option(help: "Write the Markdown tables to this file.") var markdown: String?
        @Option(help: "Write F1, the base model's retrieval by layer, as an SVG chart.") var svg: String?
        @Option(
            help:
                "Replace the study's section (<!-- study:begin --> … <!-- study:end -->, or real-study for the translation study) of this Markdown file."
        )
        var into: String?
        @OptionGroup var replace: ForceOption

        func validate() throws {
            guard !seeds.isEmpty else { throw ValidationError("give at least one seed directory") }
        }

        func run() throws {
            try OutputFiles.check([markdown, svg], force: replace.force)
            try OutputFiles.check([into], force: true)
            let summary = try StudySummary(seeds: try seeds.map { try StudySummary.Seed(directory: $0) })
            let tables = summary.markdown
            // Read and checked before anything is written, so a bad --into leaves every file as it was.
            let updated = try into.map { path in
                try StudySummary.replacingResults(
                    in: String(decoding: try FileSystem.readFile(path), as: UTF8.self),
                    with: tables, path: path, section: summary.kind.section)
            }
            for (path, text) in [(markdown, tables), (svg, summary.retrievalChart)] {
                if let path { try AtomicFileWriter.write(text, to: path, overwrite: replace.force) }
            }
            // --into names a file the user asked to have edited: it is replaced without --force.
            if let into, let updated { try AtomicFileWriter.write(updated, to: into, overwrite: true) }
            if markdown == nil { print(tables, terminator: "") }
        }
    }
}
