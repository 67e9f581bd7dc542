import ArgumentParser
import AdapterFormat
import AdapterMath
import Tensors

struct Resize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reduce an adapter's rank, per module, to a fixed rank or by its singular values.",
        discussion: """
            Each module's update s·BA is truncated to its best rank-k approximation
            (Eckart–Young) by an SVD in factor space: QR of B and Aᵀ, SVD of the
            r × r core; the dense out × in matrix is never formed. The rank is
            --rank k for every module, or chosen per module from its singular
            values σ₁ ≥ σ₂ ≥ … (as kohya's resize_lora does), capped by --max-rank:

              --sv-ratio p        keep σᵢ ≥ σ₁ / p
              --sv-fro f          the smallest k keeping the share f of ‖ΔW‖²_F
                                  (kohya's sv_fro f keeps f² of it)
              --sv-cumulative c   the smallest k with Σ_{i≤k} σᵢ ≥ c · Σ σᵢ

            --pad-to 8,16,32,64 lands each module on a rank a server accepts
            (vLLM's max_lora_rank, say): at most the largest, padded with exact
            zeros up to the smallest that holds what was kept. The output is
            canonical (alpha = r, rsLoRA off). The certificate gives per module the
            kept rank, the retained share of ‖ΔW‖²_F and ‖B'A' − ΔW‖_F / ‖ΔW‖_F of
            the stored factors, which is the tail √(Σ_{i>k} σᵢ²) / ‖ΔW‖_F.

            Examples:
              adaptermerge resize merged.lora --rank 16 -o merged-r16.lora
              adaptermerge resize merged.lora --max-rank 64 --sv-fro 0.99 --pad-to 8,16,32,64 -o served.lora
              adaptermerge resize concat.lora --max-rank 32 --sv-ratio 20 --json -o small/
            """
    )

    @Argument(help: "The adapter: a .lora file or a PEFT directory.")
    var adapter: String

    @Option(help: "Every module's rank.")
    var rank: Int?

    @Option(help: "The largest rank a module may keep under a singular-value rule.")
    var maxRank: Int?

    @Option(help: "Keep σᵢ ≥ σ₁ / p.")
    var svRatio: Double?

    @Option(help: "Keep the smallest rank holding this share of ‖ΔW‖²_F.")
    var svFro: Double?

    @Option(help: "Keep the smallest rank whose singular values sum to this share of their total.")
    var svCumulative: Double?

    @Option(help: "Comma-separated ranks the output may have (e.g. 8,16,32,64); modules are padded up with zeros.")
    var padTo: String?

    @Option(name: .shortAndLong, help: "Output: a .lora file, or a PEFT directory (any other name, or ending in /).")
    var output: String

    @OptionGroup var encoding: AdapterEncodingOptions
    @OptionGroup var replace: ForceOption
    @OptionGroup var base: BaseModelOption
    @OptionGroup var format: JSONOption

    func validate() throws {
        let rules = [svRatio, svFro, svCumulative].compactMap { $0 }
        guard rules.count <= 1 else { throw ValidationError("give one of --sv-ratio, --sv-fro, --sv-cumulative") }
        if rules.isEmpty {
            guard rank != nil || padTo != nil else {
                throw ValidationError("give --rank k, or --max-rank with --sv-ratio, --sv-fro or --sv-cumulative")
            }
            guard maxRank == nil else {
                throw ValidationError("--max-rank goes with a singular-value rule; use --rank")
            }
        } else {
            guard rank == nil else {
                throw ValidationError("--rank is fixed; with a singular-value rule use --max-rank")
            }
        }
        for k in [rank, maxRank].compactMap({ $0 }) where k < 1 {
            throw ValidationError("ranks must be at least 1")
        }
        _ = try rule?.validated()
        _ = try allowedRanks
    }

    var rule: RankRule? {
        if let p = svRatio { return .singularValueRatio(p) }
        if let f = svFro { return .frobeniusShare(f) }
        if let c = svCumulative { return .cumulativeShare(c) }
        return nil
    }

    var allowedRanks: [Int] {
        get throws {
            guard let padTo else { return [] }
            let ranks = try OptionList.numbers(padTo, option: "--pad-to")
            guard ranks.allSatisfy({ $0 >= 1 && $0 <= 1_048_576 && $0 == $0.rounded() }) else {
                throw ValidationError("--pad-to takes positive whole ranks")
            }
            return Array(Set(ranks.map { Int($0) })).sorted()
        }
    }

    func run() throws {
        BLAS.setThreadCount(1)
        try AdapterWriter.checkOutput(output, format: encoding.outputFormat, overwrite: replace.force)
        let model = try base.config()
        let input = try AdapterReader.open(adapter, layout: model?.llamaCppLayout)
        var options = MergeOptions(method: .svd, weights: [1], rank: rank ?? maxRank, dtype: encoding.dtype.dtype)
        options.rankRule = rule
        options.allowedRanks = try allowedRanks
        let report = try AdapterMerger(inputs: [input], options: options)
            .write(to: output, overwrite: replace.force, options: encoding.writeOptions(model: model))
        if format.json {
            print(CertificateText.json(report, inputs: [input], output: output).prettyText())
        } else {
            print(
                CertificateText.render(report, inputs: [input], output: output, title: "resized \(adapter)"),
                terminator: "")
        }
    }
}
