import AdapterFormat
import Tensors
import Transformer

/// `tune`'s search for the alignment adapter's merge weight on dev data.
///
/// The candidate is task + w · align, applied unmerged as `check` runs it;
/// with cuts, also task + w · align on the layers below each cut only (the band
/// `cut-=0`). Each band has its own ``WeightSearch`` (the grid, then
/// golden-section steps, each weight evaluated once for all languages); the
/// best (band, weight) is chosen on all dev languages, and
/// leave-one-language-out reports for each language the setting chosen on the
/// others and that language's score there. Test data is never read.
public struct MergeTuning {
    /// What is maximised (the loss is minimised).
    public enum Metric: String, CaseIterable, Sendable {
        case slotF1 = "slot_f1"
        case exact, loss
        /// sacreBLEU's chrF (0…100) on the free-form references, as `check` reports it.
        case chrf

        /// The check metric it reads.
        public var checkMetric: CheckReport.Metric {
            switch self {
            case .slotF1: .slotF1
            case .exact: .exactMatch
            case .loss: .loss
            case .chrf: .chrF
            }
        }
    }

    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let task: any AdapterSource
    public let align: any AdapterSource
    /// The dev rows, from `devFiles`.
    public let rows: [DataRow]
    public let devFiles: [String]
    public let metric: Metric
    public var grid: [Double]
    public var refinements: Int
    /// Layer cuts to try besides every layer (`nil`).
    public var cuts: [Int?]
    public var batchSize = 8
    public var promptTokenization: Scoring.PromptTokenization = .separate

    /// Reads the dev files and settles the metric: `slot_f1` when the references
    /// are slots, else `loss`, unless one is asked for (`slot_f1` without slot
    /// references, or `chrf` without free-form ones, is refused, since every
    /// weight would score -∞).
    public init(
        model: TransformerModel, tokenizer: Tokenizer, task: any AdapterSource, align: any AdapterSource,
        devFiles: [String], metric: Metric?, grid: [Double], refinements: Int, cuts: [Int]
    ) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.task = task
        self.align = align
        self.devFiles = devFiles
        rows = try devFiles.flatMap { try JSONLines.read($0) }
        let hasSlots = try rows.contains { SlotFilling.looksLikeSlots(try $0.string("text")) }
        if metric == .slotF1 && !hasSlots {
            throw FormatError(
                .invalidContent,
                "no dev row's text is a slot reference (\"label: value; …\" or \"None\"), so slot F1 cannot be measured",
                path: devFiles[0])
        }
        if metric == .chrf, !rows.isEmpty, try rows.allSatisfy({ SlotFilling.looksLikeSlots(try $0.string("text")) }) {
            throw FormatError(
                .invalidContent,
                "every dev row's text is a slot reference (\"label: value; …\" or \"None\") and chrF is measured on free-form references only, so it cannot be measured",
                path: devFiles[0])
        }
        if let cut = cuts.first(where: { $0 > model.config.layerCount }) {
            throw FormatError(
                .invalidContent, "the cut at layer \(cut) is past the model's \(model.config.layerCount) layers")
        }
        self.metric = metric ?? (hasSlots ? .slotF1 : .loss)
        self.grid = grid
        self.refinements = refinements
        self.cuts = [nil] + cuts
    }

    /// The band that keeps the alignment adapter (input 1) below `cut` only.
    public static func bands(_ cut: Int?) throws -> [Int: LayerBands] {
        guard let cut else { return [:] }
        return [1: try LayerBands(parsing: "\(cut)-=0")]
    }

    /// The evaluations the search may make at most, for a progress bar.
    public var plannedEvaluations: Int {
        let languages = rows.map { $0.optionalString("lang") ?? "-" }.uniqued().count
        return cuts.count * (grid.count + refinements * (languages + 1))
    }

    /// Runs the search; `progress` is told about each evaluated weight.
    public func run(progress: ((Int) -> Void)? = nil) throws -> TuningResult {
        var check = HeldOutCheck(model: model, tokenizer: tokenizer, rows: rows, pairs: [], layer: 0)
        check.batchSize = batchSize
        check.promptTokenization = promptTokenization
        check.decodes = metric != .loss
        let reportMetric = metric.checkMetric
        let languages = check.languages
        let searches = try cuts.map { cut in
            let layerBands = try Self.bands(cut)
            return WeightSearch(grid: grid, refinements: refinements) { [task, align, model] w in
                let stack = try AdapterStack(
                    adapters: [(task, 1), (align, w)], config: model.config, layerBands: layerBands)
                let result = try check.run(stack)
                progress?(1)
                var scores: [String: Double] = [:]
                for (lang, m) in result.metrics {
                    guard let v = reportMetric.value(m) else { continue }
                    scores[lang] = reportMetric.higherIsBetter ? v : -v
                }
                return scores
            }
        }
        let settings = SettingSearch(searches: searches)
        let chosen = try settings.best(over: languages)
        guard chosen.score.isFinite else {
            throw FormatError(
                .invalidContent,
                "no weight gave a finite dev \(reportMetric.title) (every row unscored?); nothing is chosen",
                path: devFiles[0])
        }
        let lolo = try settings.leaveOneLanguageOut(languages)
        let search = searches[chosen.band]
        // Scores in the metric's own sign, for people.
        func shown(_ oriented: Double) -> Double { reportMetric.higherIsBetter ? oriented : -oriented }
        let weights = search.evaluated.keys.sorted()
        return TuningResult(
            metric: metric, grid: grid, refinements: refinements, cutsTried: cuts,
            dev: try devFiles.map {
                ($0, XXH64.hex(XXH64.hash(try FileSystem.readFile($0, limit: JSONLines.maximumFileSize))))
            },
            languages: languages, chosenWeight: chosen.weight, chosenCut: cuts[chosen.band],
            chosenScore: shown(chosen.score),
            curve: try weights.map { ($0, shown(try search.score($0, over: languages))) },
            leaveOneLanguageOut: try lolo.map { ($0.language, $0.weight, cuts[$0.band], shown($0.score)) },
            perLanguage: try languages.map { lang in
                (lang, try weights.map { shown(try search.score($0, over: [lang])) })
            },
            taskAloneScore: shown(try searches[0].score(0, over: languages)))
    }
}

/// The outcome of ``MergeTuning``: what `tune --json` prints and what a tuned
/// merge records in its lineage, read back by ``init(json:path:)``.
public struct TuningResult: Sendable {
    public var metric: MergeTuning.Metric
    public var grid: [Double]
    public var refinements: Int
    public var cutsTried: [Int?]
    public var dev: [(path: String, xxh64: String)]
    public var languages: [String]
    public var chosenWeight: Double
    public var chosenCut: Int?
    /// In the metric's own sign.
    public var chosenScore: Double
    /// The chosen band's curve: the mean score at every weight evaluated.
    public var curve: [(weight: Double, score: Double)]
    public var leaveOneLanguageOut: [(language: String, weight: Double, cut: Int?, score: Double)]
    /// Per language, the chosen band's scores at the curve's weights (not in the JSON).
    public var perLanguage: [(language: String, scores: [Double])] = []
    /// The task adapter alone (w = 0), on all languages (not in the JSON).
    public var taskAloneScore: Double?

    public init(
        metric: MergeTuning.Metric, grid: [Double], refinements: Int, cutsTried: [Int?],
        dev: [(path: String, xxh64: String)],
        languages: [String], chosenWeight: Double, chosenCut: Int?, chosenScore: Double,
        curve: [(weight: Double, score: Double)],
        leaveOneLanguageOut: [(language: String, weight: Double, cut: Int?, score: Double)],
        perLanguage: [(language: String, scores: [Double])] = [], taskAloneScore: Double? = nil
    ) {
        self.metric = metric
        self.grid = grid
        self.refinements = refinements
        self.cutsTried = cutsTried
        self.dev = dev
        self.languages = languages
        self.chosenWeight = chosenWeight
        self.chosenCut = chosenCut
        self.chosenScore = chosenScore
        self.curve = curve
        self.leaveOneLanguageOut = leaveOneLanguageOut
        self.perLanguage = perLanguage
        self.taskAloneScore = taskAloneScore
    }

    public var json: JSONValue {
        func cut(_ c: Int?) -> JSONValue { c.map { .int($0) } ?? .null }
        return [
            "metric": .string(metric.rawValue),
            "grid": .array(grid.map(JSONValue.number)),
            "refinements": .int(refinements),
            "cuts_tried": .array(cutsTried.map(cut)),
            "dev": .array(dev.map { ["path": .string($0.path), "xxh64": .string($0.xxh64)] }),
            "languages": .array(languages.map(JSONValue.string)),
            "chosen_weight": .number(chosenWeight),
            "chosen_cut": cut(chosenCut),
            "chosen_score": .number(chosenScore),
            "curve": .array(curve.map { ["weight": .number($0.weight), "score": .number($0.score)] }),
            "leave_one_language_out": .array(
                leaveOneLanguageOut.map {
                    [
                        "language": .string($0.language), "weight": .number($0.weight), "cut": cut($0.cut),
                        "score": .number($0.score),
                    ]
                }),
        ]
    }

    /// Reads `tune --json` output (or a lineage's `tuning` record).
    public init(json: JSONValue, path: String) throws {
        let f = try JSONFields(json, path: path, what: "a tuning record")
        func need<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw f.error(key, "is missing") }
            return value
        }
        guard let metric = MergeTuning.Metric(rawValue: try need(try f.string("metric"), "metric")) else {
            throw f.error(
                "metric", "must be one of \(MergeTuning.Metric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func numbers(_ key: String) throws -> [Double] {
            try (f[key]?.arrayValue ?? []).enumerated().map { i, v in
                guard let d = v.doubleValue else { throw f.error("\(key)[\(i)]", "must be a number") }
                return d
            }
        }
        func objects(_ key: String) throws -> [JSONFields] {
            try (f[key]?.arrayValue ?? []).enumerated().map {
                try JSONFields($1, path: path, location: f.place("\(key)[\($0)]"))
            }
        }
        self.init(
            metric: metric, grid: try numbers("grid"), refinements: try f.int("refinements") ?? 0,
            cutsTried: (f["cuts_tried"]?.arrayValue ?? []).map(\.intValue),
            dev: try objects("dev").map {
                (try need(try $0.string("path"), "dev"), try need(try $0.string("xxh64"), "dev"))
            },
            languages: try f.stringArray("languages") ?? [],
            chosenWeight: try need(try f.double("chosen_weight"), "chosen_weight"), chosenCut: try f.int("chosen_cut"),
            chosenScore: try f.double("chosen_score") ?? .nan,
            curve: try objects("curve").map {
                (try need(try $0.double("weight"), "curve"), try $0.double("score") ?? .nan)
            },
            leaveOneLanguageOut: try objects("leave_one_language_out").map {
                (
                    try need(try $0.string("language"), "leave_one_language_out"), try $0.double("weight") ?? .nan,
                    try $0.int("cut"), try $0.double("score") ?? .nan
                )
            })
    }
}
