import AdapterFormat
import Tensors
import Transformer

/// What `check` runs: a candidate setting against a baseline on the rows of
/// chosen languages, with the rules that pick the languages' groups, the
/// alignment layer and the gates, so the command only parses and renders.
public struct CandidateCheck {
    /// Adapters applied together (empty: the base model), and a name for reports.
    public struct Setting {
        public let adapters: [(source: any AdapterSource, weight: Double)]
        public let name: String
        public init(adapters: [(source: any AdapterSource, weight: Double)], name: String) {
            self.adapters = adapters
            self.name = name
        }
    }

    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let candidate: Setting
    /// `nil`: no baseline at all (no deltas, no gates).
    public let baseline: Setting?
    /// The task rows and parallel rows of the kept languages.
    public let rows: [DataRow]
    public let pairs: [DataRow]
    public let groups: LanguageGroups
    /// Where retrieval is measured: the requested layer, else the candidate's
    /// training recipe's, else L/2.
    public let layer: Int
    public var batchSize = 8
    public var promptTokenization: Scoring.PromptTokenization = .separate

    /// - Parameters:
    ///   - languages: keep only these (rows without `lang` count as `-`).
    ///   - taskLanguages, alignmentLanguages: override the groups the candidate's metadata gives.
    ///   - layer: the alignment layer, 0…L (the hidden states' indices).
    public init(
        model: TransformerModel, tokenizer: Tokenizer, candidate: Setting, baseline: Setting?,
        rows: [DataRow], pairs: [DataRow], languages: Set<String>? = nil,
        taskLanguages: [String]? = nil, alignmentLanguages: [String]? = nil, layer: Int? = nil
    ) throws {
        let layers = model.config.layerCount
        if let layer, !(0...layers).contains(layer) {
            throw FormatError(
                .invalidContent, "the alignment layer \(layer) is outside the model's hidden states 0…\(layers)")
        }
        func kept(_ rows: [DataRow]) -> [DataRow] {
            guard let languages else { return rows }
            return rows.filter { languages.contains($0.optionalString("lang") ?? "-") }
        }
        self.rows = kept(rows)
        self.pairs = kept(pairs)
        guard !self.rows.isEmpty || !self.pairs.isEmpty else {
            throw FormatError(
                .invalidContent,
                "no rows left to check"
                    + (languages.map { " for the languages \($0.sorted().joined(separator: ","))" } ?? ""),
                path: rows.first?.file ?? pairs.first?.file)
        }
        var groups = candidate.adapters.reduce(LanguageGroups(task: [], alignment: [])) {
            $0.merged(with: LanguageGroups(metadata: $1.source.metadata))
        }
        if let taskLanguages { groups.task = taskLanguages }
        if let alignmentLanguages { groups.alignment = alignmentLanguages }
        self.groups = groups
        let recipeLayer = candidate.adapters.compactMap { $0.source.metadata.recipe?["layer"]?.intValue }.first
        self.layer = max(0, min(layer ?? recipeLayer ?? layers / 2, layers))
        self.model = model
        self.tokenizer = tokenizer
        self.candidate = candidate
        self.baseline = baseline
    }

    /// The decodes `run` reports progress on.
    public var plannedDecodes: Int { rows.count * (baseline == nil ? 1 : 2) }

    /// Measures both settings and applies the gates.
    public func run(
        minimumGain: Double? = nil, maximumLossIncrease: Double? = nil, minimumChrFGain: Double? = nil,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> (report: CheckReport, candidate: SettingResult, baseline: SettingResult?) {
        var check = HeldOutCheck(model: model, tokenizer: tokenizer, rows: rows, pairs: pairs, layer: layer)
        check.batchSize = batchSize
        check.promptTokenization = promptTokenization
        let candidateResult = try check.run(
            try AdapterStack(adapters: candidate.adapters, config: model.config), progress: progress)
        let baselineResult = try baseline.map {
            try check.run(try AdapterStack(adapters: $0.adapters, config: model.config), progress: progress)
        }
        var report = CheckReport(
            languages: check.languages, candidate: candidateResult, baseline: baselineResult, groups: groups,
            layer: layer, candidateName: candidate.name, baselineName: baseline?.name)
        report.applyGates(
            minimumGain: minimumGain, maximumLossIncrease: maximumLossIncrease, minimumChrFGain: minimumChrFGain)
        return (report, candidateResult, baselineResult)
    }

    /// One JSON line per task row: what the candidate (and the baseline) wrote, beside the reference.
    public func outputLines(candidate: SettingResult, baseline: SettingResult?) throws -> String {
        try rows.indices.map { i in
            let row = rows[i]
            let line: JSONValue = [
                "index": .int(i), "lang": row.optionalString("lang").map(JSONValue.string) ?? .null,
                "prefix": .string(try row.string("prefix")), "reference": .string(try row.string("text")),
                "candidate": .string(candidate.outputs[i]),
                "baseline": baseline.map { .string($0.outputs[i]) } ?? .null,
            ]
            return line.compactText + "\n"
        }.joined()
    }
}
