import AdapterFormat
import Tensors

/// Merges adapters module by module against the target `Σᵢ wᵢ ΔWᵢ`.
///
/// Construction validates everything that can be checked without reading
/// tensors (weights, options, base models, shapes, ranks for `add`) and
/// fixes each output module's rank, so a writer can lay out its file before
/// the first module is merged. ``merge(_:)`` then reads one module from each
/// input, merges it and returns the stored factors with their certificate:
/// peak memory is a few times the largest module, never the whole adapter.
public final class AdapterMerger {
    /// One output module and where its inputs come from.
    public struct PlannedModule: Sendable {
        public let output: LoraModuleInfo
        /// (input index, the input's module) for every input that targets it.
        public let contributors: [(input: Int, module: LoraModuleInfo)]
        /// The rank the truncation keeps; the output pads it with zeros up to `output.rank`.
        public var keptRank: Int
    }

    public let inputs: [any AdapterSource]
    public let options: MergeOptions
    public let plan: [PlannedModule]
    public let outputDType: DType
    private let planIndex: [String: Int]
    /// The next planned module's inputs, read and decoded in the background.
    private var prefetched: (index: Int, task: BackgroundTask<[LowRankDelta]>)?

    public init(inputs: [any AdapterSource], options: MergeOptions) throws {
        self.inputs = inputs
        self.options = options
        guard !inputs.isEmpty else { throw MergeError(.invalidOption, "combine needs at least one adapter") }
        guard options.weights.count == inputs.count else {
            throw MergeError(.invalidOption, "\(options.weights.count) weights given for \(inputs.count) adapters")
        }
        guard options.weights.allSatisfy(\.isFinite) else {
            throw MergeError(.invalidOption, "weights must be finite numbers")
        }
        if let k = options.rank, k < 1 { throw MergeError(.invalidOption, "the rank must be at least 1") }
        _ = try options.rankRule?.validated()
        if options.rankRule != nil || !options.allowedRanks.isEmpty {
            guard options.method == .svd else {
                throw MergeError(.invalidOption, "a rank rule and allowed ranks need the svd method")
            }
            guard options.allowedRanks.allSatisfy({ $0 >= 1 }), options.allowedRanks == options.allowedRanks.sorted()
            else {
                throw MergeError(.invalidOption, "allowed ranks must be positive and ascending")
            }
        }
        if options.method == .ties || options.method == .dare {
            guard options.density > 0 && options.density <= 1 else {
                throw MergeError(.invalidOption, "the density must be in (0, 1], got \(options.density)")
            }
        }

        // Base models: a missing name is not a mismatch.
        let named = inputs.compactMap { input in input.metadata.baseModel.map { (input.location, $0) } }
        if !options.allowBaseMismatch, let first = named.first, let other = named.first(where: { $0.1 != first.1 }) {
            throw MergeError(
                .baseModelMismatch,
                "adapters are for different base models: \(first.0) says \"\(first.1)\", \(other.0) says \"\(other.1)\""
            )
        }

        // Every module path across inputs, with one shape.
        if let bad = options.layerBands.keys.first(where: { !inputs.indices.contains($0) }) {
            throw MergeError(
                .invalidOption, "layer weights name input \(bad + 1), but there are \(inputs.count) inputs")
        }
        // An input whose weight is zero in a module's layer does not take part in that module.
        var byPath: [String: [(input: Int, module: LoraModuleInfo)]] = [:]
        for (i, input) in inputs.enumerated() {
            for m in input.modules where options.weight(of: i, layer: m.layer) != 0 || options.layerBands[i] == nil {
                byPath[m.path, default: []].append((i, m))
            }
        }
        var plan: [PlannedModule] = []
        let dtypes = Set(inputs.flatMap { $0.modules.map(\.dtype) })
        outputDType = options.dtype ?? (dtypes.count == 1 ? dtypes.first! : .f32)
        for path in byPath.keys.sorted(by: naturalOrder) {
            let contributors = byPath[path]!
            let first = contributors[0]
            if let clash = contributors.first(where: {
                $0.module.outFeatures != first.module.outFeatures || $0.module.inFeatures != first.module.inFeatures
            }) {
                throw MergeError(
                    .incompatible,
                    "module \(path) is \(first.module.outFeatures)×\(first.module.inFeatures) in \(inputs[first.input].location) but \(clash.module.outFeatures)×\(clash.module.inFeatures) in \(inputs[clash.input].location): the adapters are for different base models"
                )
            }
            let ranks = contributors.map(\.module.rank)
            let sum = ranks.reduce(0, +)
            let limit = Swift.min(first.module.outFeatures, first.module.inFeatures)
            let rankOut: Int
            switch options.method {
            case .concat:
                rankOut = sum
            case .add:
                if let other = contributors.first(where: { $0.module.rank != first.module.rank }) {
                    throw MergeError(
                        .unsupportedByMethod,
                        "add needs equal ranks, but module \(path) has rank \(first.module.rank) in \(inputs[first.input].location) and \(other.module.rank) in \(inputs[other.input].location) (concat and svd merge unequal ranks)"
                    )
                }
                rankOut = first.module.rank
            case .svd:
                let k = options.rank ?? inputs.flatMap { $0.modules.map(\.rank) }.max() ?? 1
                rankOut = Swift.min(k, sum, limit)
            case .ties, .dare:
                rankOut = Swift.min(options.rank ?? sum, limit)
            }
            let output = LoraModuleInfo(
                path: path, rank: rankOut, inFeatures: first.module.inFeatures,
                outFeatures: first.module.outFeatures, alpha: Double(rankOut),
                useRSLoRA: false, dtype: outputDType)
            plan.append(PlannedModule(output: output, contributors: contributors, keptRank: rankOut))
        }
        if options.rankRule != nil || !options.allowedRanks.isEmpty {
            plan = try plan.map { try AdapterMerger.sized($0, inputs: inputs, options: options) }
        }
        self.plan = plan
        planIndex = Dictionary(uniqueKeysWithValues: plan.enumerated().map { ($1.output.path, $0) })
    }

    /// The modules of the merged adapter, in canonical form (alpha = r, no rsLoRA).
    public var outputModules: [LoraModuleInfo] { plan.map(\.output) }

    /// Merges one output module.
    ///
    /// - Parameter storingA: lora_a as the output will hold it (Q8_0 in a GGUF
    ///   adapter: ``AdapterWriter/storedLoraA(_:module:options:)``); the
    ///   certificate measures that. The returned factors are as merged.
    public func merge(
        _ module: LoraModuleInfo, storingA: ((Tensor) throws -> Tensor)? = nil
    ) throws -> (a: Tensor, b: Tensor, report: ModuleMergeReport) {
        do {
            return try mergeModule(module, storingA: storingA)
        } catch let error as TensorError {
            // LAPACK and conversion failures name the module here, so the user learns where.
            let hint = options.allowNonFinite ? " (the inputs hold NaN or infinity)" : ""
            throw MergeError(
                .numericalFailure, "module \(module.path): the factorization failed: \(error.message)\(hint)")
        }
    }

    private func mergeModule(
        _ module: LoraModuleInfo, storingA: ((Tensor) throws -> Tensor)?
    ) throws -> (a: Tensor, b: Tensor, report: ModuleMergeReport) {
        guard let index = planIndex[module.path] else {
            throw MergeError(.invalidOption, "no module \(module.path) in the merge plan")
        }
        let planned = plan[index]
        let parts: [LowRankDelta]
        if let prefetched, prefetched.index == index {
            parts = try prefetched.task.value()
        } else {
            parts = try AdapterMerger.load(planned, from: inputs, options: options)
        }
        prefetched = nil
        if index + 1 < plan.count {
            let (next, inputs, options) = (plan[index + 1], inputs, options)
            prefetched = (index + 1, BackgroundTask { try AdapterMerger.load(next, from: inputs, options: options) })
        }
        // Canonical form: each input's scaling folded into its factors, then weighted.
        let coefficients = planned.contributors.map {
            options.weight(of: $0.input, layer: $0.module.layer) * $0.module.scaling
        }
        let target = LowRankDelta.concatenate(parts, scalingA: coefficients)
        var retained: Double?
        let merged: LowRankDelta
        switch options.method {
        case .concat:
            merged = target
        case .add:
            merged = AdapterMerger.linear(parts, coefficients)
        case .svd:
            let t = try target.truncated(rank: planned.keptRank)
            merged = t.delta.padded(toRank: planned.output.rank)
            retained = t.retainedEnergy
        case .ties, .dare:
            let out = planned.output.outFeatures
            let inn = planned.output.inFeatures
            let weighted = zip(parts, coefficients).map { DenseTaskArithmetic.dense($0, scale: $1) }
            let dense: [Float]
            if options.method == .ties {
                dense = DenseTaskArithmetic.ties(weighted, density: options.density)
            } else {
                var generators = weighted.indices.map {
                    SeededGenerator(
                        seed: options.seed, stream: "dare:" + module.path, index: planned.contributors[$0].input)
                }
                dense = DenseTaskArithmetic.dare(weighted, density: options.density, generators: &generators)
            }
            let denseNorm = dense.reduce(0.0) { $0 + Double($1) * Double($1) }
            var generator = SeededGenerator(seed: options.seed, stream: "range:" + module.path)
            let range = try DenseTaskArithmetic.rangeFactorization(
                dense, rows: out, columns: inn,
                rank: planned.output.rank + 8, generator: &generator)
            let t = try range.truncated(rank: planned.output.rank)
            merged = t.delta
            let kept = t.singularValues.prefix(planned.output.rank).reduce(0) { $0 + $1 * $1 }
            retained = denseNorm > 0 ? Swift.min(1, kept / denseNorm) : 1
        }
        let (a, b) = try merged.tensors(dtype: outputDType)
        let stored = try LowRankDelta(storedA: storingA?(a) ?? a, storedB: b)
        let targetNorm = try LowRankDelta.frobeniusNorm(ofSum: [target])
        let error = try LowRankDelta.distance(stored: stored, target: target)
        let report = ModuleMergeReport(
            path: module.path, layer: module.layer, outFeatures: module.outFeatures, inFeatures: module.inFeatures,
            method: options.method,
            inputRanks: inputs.indices.map { i in planned.contributors.first { $0.input == i }?.module.rank },
            outputRank: planned.output.rank, keptRank: planned.keptRank,
            relativeError: targetNorm > 0 ? error / targetNorm : (error == 0 ? 0 : .infinity),
            targetNorm: targetNorm, retainedEnergy: retained)
        return (a, b, report)
    }

    /// A planned `svd` module with its rank chosen from its target's singular
    /// values (``MergeOptions/rankRule``, capped by ``MergeOptions/rank``), then
    /// raised to the smallest allowed rank that holds it. The factors are read
    /// here once more; in factor space that costs little beside the merge.
    static func sized(_ planned: PlannedModule, inputs: [any AdapterSource], options: MergeOptions) throws
        -> PlannedModule
    {
        var kept = planned.output.rank
        if let rule = options.rankRule {
            let parts = try load(planned, from: inputs, options: options)
            let coefficients = planned.contributors.map {
                options.weight(of: $0.input, layer: $0.module.layer) * $0.module.scaling
            }
            let values = try LowRankDelta.concatenate(parts, scalingA: coefficients).singularValues()
            kept = Swift.min(rule.rank(values), planned.output.rank)
        }
        var rank = kept
        if let largest = options.allowedRanks.last {
            kept = Swift.min(kept, largest)
            rank = options.allowedRanks.first { $0 >= kept } ?? largest
        }
        let o = planned.output
        let output = LoraModuleInfo(
            path: o.path, rank: rank, inFeatures: o.inFeatures, outFeatures: o.outFeatures, alpha: Double(rank),
            useRSLoRA: false, dtype: o.dtype)
        return PlannedModule(output: output, contributors: planned.contributors, keptRank: kept)
    }

    /// The factors of every input of one planned module, unscaled, with
    /// non-finite values refused unless the options allow them.
    static func load(_ planned: PlannedModule, from inputs: [any AdapterSource], options: MergeOptions) throws
        -> [LowRankDelta]
    {
        try planned.contributors.map { i, m in
            let factors = try inputs[i].factors(of: m)
            let bad = factors.a.nonFiniteCount + factors.b.nonFiniteCount
            if bad > 0 && !options.allowNonFinite {
                throw MergeError(.nonFinite, "module \(m.path) of \(inputs[i].location) has \(bad) NaN/Inf values")
            }
            return try LowRankDelta(a: factors.a, b: factors.b, scaling: 1)
        }
    }

    /// PEFT's `linear` combination: `A = Σ sign(cᵢ)√|cᵢ| Aᵢ`, `B = Σ √|cᵢ| Bᵢ`.
    static func linear(_ parts: [LowRankDelta], _ coefficients: [Double]) -> LowRankDelta {
        var a = Matrix<Double>(zeros: parts[0].rank, parts[0].inFeatures)
        var b = Matrix<Double>(zeros: parts[0].outFeatures, parts[0].rank)
        for (p, c) in zip(parts, coefficients) {
            let root = abs(c).squareRoot()
            let signed = c < 0 ? -root : root
            for i in a.elements.indices { a.elements[i] += signed * p.a.elements[i] }
            for i in b.elements.indices { b.elements[i] += root * p.b.elements[i] }
        }
        return LowRankDelta(a: a, b: b)
    }

    /// The metadata of the merged adapter: kind `merged`, the inputs' common
    /// base model and languages, and the lineage.
    public func outputMetadata(inputHashes: [String]) -> AdapterMetadata {
        var languages: [String] = []
        for input in inputs { for l in input.metadata.languages where !languages.contains(l) { languages.append(l) } }
        let lineage: JSONValue = [
            "tool": .string(ToolInfo.identifier),
            "method": .string(options.method.rawValue),
            "weights": .array(options.weights.map(JSONValue.number)),
            "rank": options.method == .svd || options.method == .ties || options.method == .dare
                ? (options.rank.map { .int($0) } ?? .string("default")) : .null,
            "density": options.method == .ties || options.method == .dare ? .number(options.density) : .null,
            "seed": .int(Int(truncatingIfNeeded: options.seed)),
            "dtype": .string(outputDType.shortName),
            "layer_weights": options.layerBands.isEmpty
                ? .null
                : .object(
                    options.layerBands.keys.sorted().map {
                        (key: String($0 + 1), value: .string(options.layerBands[$0]!.description))
                    }),
            "inputs": .array(
                inputs.indices.map { i in
                    [
                        "path": .string(inputs[i].location),
                        "xxh64": .string(inputHashes[i]),
                        "weight": .number(options.weights[i]),
                        "kind": inputs[i].metadata.kind.map { .string($0.rawValue) } ?? .null,
                        "languages": .array(inputs[i].metadata.languages.map { .string($0) }),
                    ]
                }),
        ]
        // The first PEFT config that exists keeps task_type, fan_in_fan_out and
        // the like for a PEFT export; its r/alpha are rewritten on export.
        return AdapterMetadata(
            kind: .merged, baseModel: inputs.compactMap(\.metadata.baseModel).first,
            languages: languages, lineage: lineage,
            peftConfig: inputs.compactMap(\.metadata.peftConfig).first)
    }
}
