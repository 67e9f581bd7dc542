import ArgumentParser
import AdapterFormat
import Tensors
import Transformer

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract a LoRA adapter from a fine-tuned model and its base.",
        discussion: """
            Per projection, ΔW = W_tuned − W_base is factored by a randomized SVD
            (seeded Gaussian test matrix, --power-iterations, then the SVD of the
            small projected matrix). Both models keep their weights as stored and
            one module at a time is widened, so memory holds two dense matrices of
            the largest projection, never a model (an 8B pair runs in 24 GiB). The
            table gives each module's rank and ‖ΔW − BA‖_F / ‖ΔW‖_F, exact. Only
            the projections are extracted; a grown vocabulary or tied head is said,
            not extracted. Models are Hugging Face directories or GGUF files.

              --rank k                every module at rank k
              --max-rank k --sv-fro f the smallest rank keeping the share f of ‖ΔW‖²_F
              --max-rank k --sv-epsilon e   keep σᵢ ≥ e · σ₁

            Examples:
              adaptermerge extract --base base/ --tuned tuned/ --rank 16 -o extracted.lora
              adaptermerge extract --base base/ --tuned tuned/ --max-rank 64 --sv-fro 0.9 --modules q_proj,v_proj -o x.lora
            """
    )

    @Option(help: "The base model: a Hugging Face directory or a GGUF file.") var base: String
    @Option(help: "The fine-tuned model, of the same architecture.") var tuned: String
    @Option(help: "Every module's rank.") var rank: Int?
    @Option(help: "The largest rank a module may keep under --sv-fro or --sv-epsilon.") var maxRank: Int?
    @Option(help: "Keep the smallest rank holding this share of ‖ΔW‖²_F.") var svFro: Double?
    @Option(help: "Keep σᵢ ≥ ε · σ₁.") var svEpsilon: Double?
    @Option(help: "Comma-separated projections (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; default all).")
    var modules: String?
    @Option(help: "Power iterations of the range finder.") var powerIterations = 2
    @Option(help: "Seed of the range finder's test matrix.") var seed: UInt64 = 0
    @Option(name: .shortAndLong, help: "Output: .lora, .gguf, or a PEFT/MLX directory (--format).") var output: String

    @OptionGroup var encoding: AdapterEncodingOptions
    @OptionGroup var replace: ForceOption
    @OptionGroup var format: JSONOption

    func validate() throws {
        guard svFro == nil || svEpsilon == nil else { throw ValidationError("give --sv-fro or --sv-epsilon, not both") }
        if rule == nil {
            guard let rank, maxRank == nil else {
                throw ValidationError("give --rank k, or --max-rank with --sv-fro or --sv-epsilon")
            }
            guard rank >= 1 else { throw ValidationError("--rank must be at least 1") }
        } else {
            guard rank == nil, let maxRank, maxRank >= 1 else {
                throw ValidationError("--sv-fro and --sv-epsilon take --max-rank (at least 1), not --rank")
            }
        }
        guard (0...20).contains(powerIterations) else { throw ValidationError("--power-iterations must be 0 to 20") }
        _ = try rule?.validated()
        if let modules { _ = try OptionList.items(modules, option: "--modules") }
    }

    var rule: RankRule? {
        if let f = svFro { return .frobeniusShare(f) }
        if let e = svEpsilon { return .relativeThreshold(e) }
        return nil
    }

    func run() throws {
        try AdapterWriter.checkOutput(output, format: encoding.outputFormat, overwrite: replace.force)
        var options = AdapterExtraction.Options(rank: rank ?? maxRank ?? 1, rule: rule)
        options.projections = try modules.map { try OptionList.items($0, option: "--modules") } ?? []
        options.powerIterations = powerIterations
        options.seed = seed
        let extraction = try AdapterExtraction(base: base, tuned: tuned, options: options)
        var metadata = AdapterMetadata()
        metadata.baseModel = try ModelIdentity.of(path: base)
        metadata.lineage = ["extracted_from": .string(try ModelIdentity.of(path: tuned))]
        let progress = Progress("extracting", total: extraction.plan.count)
        let extracted = try extraction.write(
            to: output, metadata: metadata, overwrite: replace.force,
            options: encoding.writeOptions(model: extraction.base.config)
        ) { _ in progress.advance(1) }
        progress.finish()
        if format.json {
            let doc: JSONValue = [
                "output": .string(output),
                "modules": .array(
                    extracted.map {
                        [
                            "name": .string($0.info.path), "rank": .int($0.info.rank),
                            "delta_fro": .double($0.differenceNorm), "relative_error": .double($0.relativeError),
                        ]
                    }),
                "notes": .array(extraction.notes.map { .string($0) }),
            ]
            print(doc.prettyText())
            return
        }
        print("extracted \(extracted.count) modules of \(tuned) − \(base) → \(output)\n")
        print(
            Format.pad("module", 40) + Format.padLeft("out×in", 12) + Format.padLeft("rank", 6)
                + Format.padLeft("‖ΔW‖_F", 11) + Format.padLeft("rel. error", 12))
        for m in extracted {
            print(
                Format.pad(m.info.path, 40) + Format.padLeft("\(m.info.outFeatures)×\(m.info.inFeatures)", 12)
                    + Format.padLeft(String(m.info.rank), 6) + Format.padLeft(Format.general(m.differenceNorm, 4), 11)
                    + Format.padLeft(CertificateText.scientific(m.relativeError), 12))
        }
        for note in extraction.notes { print("note: \(note)") }
    }
}
