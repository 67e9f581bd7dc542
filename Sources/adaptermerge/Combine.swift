import ArgumentParser
import AdapterFormat
import AdapterMath
import Foundation
import Tensors

struct Combine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge adapters into one, with an exactness certificate.",
        discussion: """
            Every method aims at the weighted sum of the updates, Σ wᵢ·ΔWᵢ, per module,
            with each input's scaling (alpha/r, or alpha/√r with rsLoRA) folded in
            first. The output is canonical: alpha = r per module, rsLoRA off, so PEFT
            loads it with no surprises.

              concat  exact; rank = sum of the input ranks (the default)
              add     PEFT's "linear": sums of the factors; equal ranks; inexact
              svd     the exact sum truncated to --rank k by a factor-space SVD
              ties    TIES (trim to --density, elect signs, disjoint sum), dense
              dare    DARE (drop with 1-density, rescale), dense

            ties and dare are refactored to --rank k (default: the sum of the input
            ranks). The certificate gives, per module, ‖B'A' − target‖_F / ‖target‖_F of
            the stored factors.

            Examples:
              adaptermerge combine task.lora align.lora
              adaptermerge combine task.lora align.lora --weights 1,0.5 -o merged.lora
              adaptermerge combine task.lora align.lora --method svd --rank 16 --json
              adaptermerge combine task.lora old.lora --weights 1,-1 -o difference.lora
              adaptermerge combine task.lora align.lora --layer-weights 2:16-=0 -o merged.lora
              adaptermerge combine --recipe merge.json
            """
    )

    @Argument(help: "Adapters to merge: .lora files or PEFT directories.")
    var adapters: [String] = []

    @Option(help: "Comma-separated weights, one per adapter (default: 1 each). Negative weights subtract.")
    var weights: String?

    @Option(help: "concat, add, svd, ties or dare.")
    var method: MergeMethod = .concat

    @Option(help: "Target rank for svd (default: the largest input rank) and ties/dare (default: the sum).")
    var rank: Int?

    @Option(help: "Fraction of entries ties/dare keep (default 0.5).")
    var density: Double?

    @Option(
        name: .customLong("layer-weights"), parsing: .singleValue,
        help:
            "Per-layer factors on one input's weight, as input:bands (repeatable; input is 1-based): 2:16-=0 keeps adapter 2 only below layer 16; 2:0-7=1,8-15=0.5,16-=0 fades it out."
    )
    var layerWeights: [String] = []

    @Option(help: "Seed for dare and for the randomized refactoring of ties/dare.")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "Output: a .lora file, or a PEFT directory (any other name, or ending in /).")
    var output: String?

    @Option(help: "A JSON recipe naming inputs, weights, method and output (paths relative to the recipe).")
    var recipe: String?

    @OptionGroup var encoding: AdapterEncodingOptions

    @OptionGroup var replace: ForceOption

    @OptionGroup var base: BaseModelOption

    @Flag(help: "Merge adapters whose base_model names differ.")
    var allowBaseMismatch = false

    @Flag(help: "Merge factors that contain NaN or infinity.")
    var allowNonfinite = false

    @OptionGroup var format: JSONOption

    func validate() throws {
        if recipe == nil && adapters.isEmpty { throw ValidationError("give adapters to merge, or --recipe") }
        if recipe != nil && !adapters.isEmpty { throw ValidationError("give either adapters or --recipe, not both") }
    }

    func run() throws {
        // Factor-space work is many small, tall-skinny LAPACK calls: BLAS threads only contend.
        BLAS.setThreadCount(1)
        let job = try resolvedJob()
        // Fail before any work if the output cannot be written.
        try AdapterWriter.checkOutput(job.output, format: encoding.outputFormat, overwrite: replace.force)
        let model = try base.config()
        let inputs = try job.inputs.map { try AdapterReader.open($0, layout: model?.llamaCppLayout) }
        var options = MergeOptions(
            method: job.method, weights: job.weights ?? Array(repeating: 1, count: inputs.count),
            rank: job.rank, density: job.density ?? 0.5, seed: job.seed,
            allowBaseMismatch: allowBaseMismatch, allowNonFinite: allowNonfinite,
            dtype: job.dtype ?? encoding.dtype.dtype)
        options.layerBands = try job.layerBands ?? Combine.parseLayerWeights(layerWeights)
        if options.weights.count != inputs.count {
            throw ValidationError("\(options.weights.count) weights for \(inputs.count) adapters")
        }
        let report = try AdapterMerger(inputs: inputs, options: options)
            .write(
                to: job.output, overwrite: replace.force, options: encoding.writeOptions(model: model),
                allowNonFinite: allowNonfinite
            )
        if format.json {
            print(CertificateText.json(report, inputs: inputs, output: job.output).prettyText())
        } else {
            print(CertificateText.render(report, inputs: inputs, output: job.output), terminator: "")
        }
    }

    /// The merge to run, from the arguments or from a recipe.
    struct Job {
        var inputs: [String]
        var weights: [Double]?
        var method: MergeMethod
        var rank: Int?
        var density: Double?
        var seed: UInt64
        var output: String
        var dtype: DType?
        /// From a recipe; nil means the command line's `--layer-weights`.
        var layerBands: [Int: LayerBands]? = nil
    }

    func resolvedJob() throws -> Job {
        if let recipe {
            let r = try MergeRecipe(path: recipe)
            return Job(
                inputs: r.inputs, weights: r.weights, method: r.method, rank: r.rank, density: r.density, seed: r.seed,
                output: output ?? r.output ?? "merged.lora", dtype: r.dtype, layerBands: r.layerBands)
        }
        return Job(
            inputs: adapters, weights: try weights.map(Combine.parseWeights), method: method, rank: rank,
            density: density, seed: seed, output: output ?? "merged.lora", dtype: nil)
    }

    /// `input:bands` specs → bands by 0-based input index.
    static func parseLayerWeights(_ specs: [String]) throws -> [Int: LayerBands] {
        var result: [Int: LayerBands] = [:]
        for spec in specs {
            guard let colon = spec.firstIndex(of: ":"), let input = Int(spec[..<colon]), input >= 1 else {
                throw ValidationError("--layer-weights \"\(spec)\": expected input:bands, e.g. 2:16-=0")
            }
            guard result[input - 1] == nil else { throw ValidationError("--layer-weights names input \(input) twice") }
            result[input - 1] = try LayerBands(parsing: String(spec[spec.index(after: colon)...]))
        }
        return result
    }

    static func parseWeights(_ text: String) throws -> [Double] {
        try OptionList.numbers(text, option: "--weights")
    }
}

extension MergeMethod: ExpressibleByArgument {}
