import AdapterFormat
import Foundation

/// The study over seeds (`examples/world/reproduce`, `examples/real/reproduce`):
/// each seed directory's measurements, read back from the JSON that `analyze`,
/// `check` and `tune` wrote, and summarized as mean ± sd over seeds.
///
/// A seed directory holds `results/base-retrieval.json` (`analyze --json` on
/// the base model), `results/task.json`, `results/merged.json` and
/// `results/joint.json` (`check --json` of the task adapter against the base
/// model, and of the tuned merge and the joint adapter against the task
/// adapter), `results/tune.json` (`tune --json`), and optionally
/// `pretrain.jsonl` (the pretraining log), `times.tsv` (stage, seconds) and
/// the trainers' step logs `task-log.jsonl`, `align-log.jsonl`, `joint-log.jsonl`.
public struct StudySummary: Sendable {
    /// What the study's task is, as its check documents show: it decides the
    /// headline metrics, the task group's name and the section of STUDY.md.
    public enum Kind: Sendable, Equatable {
        /// The generated world: slot filling, taught in English (`examples/world`).
        case slotFilling
        /// Translation into English scored by chrF, taught in a few languages (`examples/real`).
        case translation

        /// The metrics the group tables show, with their titles (retrieval comes last in both).
        func headline(layer: String) -> [(CheckReport.Metric, String)] {
            switch self {
            case .slotFilling:
                [(.slotF1, "exact slot F1 (label and value)"), (.slotLabelF1, "slot-label F1 (labels only)")]
                    + [(.retrieval, "retrieval at \(layer)")]
            case .translation:
                [(.chrF, "chrF of the translation into English (0–100)"), (.loss, "task loss (lower is better)")]
                    + [(.retrieval, "retrieval at \(layer)")]
            }
        }

        /// The two metrics of the per-language table.
        var perLanguage: (CheckReport.Metric, CheckReport.Metric) {
            self == .slotFilling ? (.slotF1, .slotLabelF1) : (.chrF, .loss)
        }

        /// The task group's name in the tables.
        var taskGroupName: String { self == .slotFilling ? "English" : "task" }

        /// Whose dev rows the merge was tuned on.
        var tuningLanguages: String {
            self == .slotFilling ? "English and the aligned languages" : "the task and aligned languages"
        }

        /// Whether the per-language table shows the base model: the world's base model has never
        /// seen the task, the real one is an instruct model that translates.
        var comparesBaseModelPerLanguage: Bool { self == .translation }

        /// The name of the `<!-- NAME:begin -->` section that `--into` replaces.
        public var section: String { self == .slotFilling ? "study" : "real-study" }
    }

    /// What one training stage bought, from its step log (`train --log`).
    public struct TrainingBudget: Sendable, Equatable {
        public let stage: String
        public let steps: Int
        public let tokens: Int
    }

    /// One seed's measurements.
    public struct Seed: Sendable {
        public let name: String
        /// Base-model retrieval per layer (`analyze --json`).
        public let retrieval: RetrievalAnalysis
        public let task: JSONValue
        public let untuned: JSONValue
        public let merged: JSONValue
        public let joint: JSONValue
        public let tune: TuningResult
        /// The last pretraining loss, when the log is there.
        public let pretrainLoss: Double?
        public let stageSeconds: [(stage: String, seconds: Double)]
        /// The trainers' budgets, for the stages whose step logs are there.
        public let training: [TrainingBudget]

        public init(
            name: String, retrieval: RetrievalAnalysis, task: JSONValue, untuned: JSONValue, merged: JSONValue,
            joint: JSONValue,
            tune: TuningResult, pretrainLoss: Double? = nil, stageSeconds: [(stage: String, seconds: Double)] = [],
            training: [TrainingBudget] = []
        ) {
            self.name = name
            self.retrieval = retrieval
            self.task = task
            self.untuned = untuned
            self.merged = merged
            self.joint = joint
            self.tune = tune
            self.pretrainLoss = pretrainLoss
            self.stageSeconds = stageSeconds
            self.training = training
        }

        /// Reads a seed directory written by `examples/world/reproduce`.
        public init(directory: String) throws {
            func json(_ name: String) throws -> JSONValue {
                let path = FileSystem.join(directory, "results/\(name)")
                guard FileSystem.exists(path) else {
                    throw FormatError(
                        .io, "missing: the seed's run did not finish (rerun examples/world/reproduce)", path: path)
                }
                return try FileSystem.readJSON(path)
            }
            var loss: Double?
            let log = FileSystem.join(directory, "pretrain.jsonl")
            if FileSystem.exists(log),
                let last = String(decoding: try FileSystem.readFile(log, limit: 64 << 20), as: UTF8.self)
                    .split(separator: "\n").last
            {
                loss = try JSONValue(parsing: Array(last.utf8))["task_loss"]?.doubleValue
            }
            var seconds: [(String, Double)] = []
            let times = FileSystem.join(directory, "times.tsv")
            if FileSystem.exists(times) {
                for line in String(decoding: try FileSystem.readFile(times), as: UTF8.self).split(separator: "\n") {
                    let fields = line.split(separator: "\t")
                    guard fields.count == 2, let s = Double(fields[1]) else {
                        throw FormatError(.malformed, "expected \"stage<TAB>seconds\", got \"\(line)\"", path: times)
                    }
                    seconds.append((String(fields[0]), s))
                }
            }
            var training: [TrainingBudget] = []
            for stage in ["task", "align", "joint"] {
                let log = FileSystem.join(directory, "\(stage)-log.jsonl")
                guard FileSystem.exists(log) else { continue }
                let steps = try JSONLines.read(log, checkingTypes: false)
                var tokens = 0
                for step in steps {
                    guard let t = step.fields["tokens"]?.intValue else {
                        throw FormatError(
                            .malformed, "a step without \"tokens\"", path: log, location: "line \(step.line)")
                    }
                    tokens += t
                }
                training.append(TrainingBudget(stage: stage, steps: steps.count, tokens: tokens))
            }
            self.init(
                name: FileSystem.split(directory).name,
                retrieval: try RetrievalAnalysis(
                    json: try json("base-retrieval.json"),
                    path: FileSystem.join(directory, "results/base-retrieval.json")),
                task: try json("task.json"), untuned: try json("untuned.json"), merged: try json("merged.json"),
                joint: try json("joint.json"),
                tune: try TuningResult(
                    json: try json("tune.json"), path: FileSystem.join(directory, "results/tune.json")),
                pretrainLoss: loss, stageSeconds: seconds, training: training)
        }
    }

    /// The settings compared: where each one's metrics are in a seed's results.
    public enum Setting: String, CaseIterable, Sendable {
        case base = "base model"
        case task = "task only (F2)"
        case untuned = "task + align, w = 1"
        case merged = "task + align, tuned (F3)"
        case joint = "joint (F4)"

        /// The check document and the side of it that holds this setting.
        func source(_ seed: Seed) -> (document: JSONValue, side: String) {
            switch self {
            case .base: (seed.task, "baseline")
            case .task: (seed.task, "candidate")
            case .untuned: (seed.untuned, "candidate")
            case .merged: (seed.merged, "candidate")
            case .joint: (seed.joint, "candidate")
            }
        }
    }

    /// The groups of `check`, in display order, with the names people read.
    public var groups: [(String, String)] {
        [("task", kind.taskGroupName), ("alignment", "aligned"), ("held-out", "held out")]
    }

    public let seeds: [Seed]
    public let kind: Kind
    /// Every language of the checks, in their order (the first seed's task check).
    public let languages: [String]
    /// The layers of the base-model retrieval curves, shared by all seeds.
    public let layers: [Int]
    /// The layer the checks measured retrieval at.
    public let alignmentLayer: Int?
    private let groupLanguages: [String: [String]]

    public init(seeds: [Seed]) throws {
        guard let first = seeds.first else {
            throw FormatError(.invalidContent, "a study needs at least one seed directory")
        }
        self.seeds = seeds
        let layers = seeds.map(\.retrieval.layers)
        guard !layers[0].isEmpty, layers.allSatisfy({ $0 == layers[0] }) else {
            throw FormatError(
                .invalidContent, "the seeds' base-retrieval.json files do not share one list of layers",
                path: seeds.map(\.name).joined(separator: ", "))
        }
        self.layers = layers[0]
        languages = first.task["languages"]?.objectValue?.map(\.key) ?? []
        alignmentLayer = first.task["layer"]?.intValue
        let taskSide = first.task["groups"]?["task"]?["candidate"]
        kind =
            taskSide?["chrf"]?.doubleValue != nil && taskSide?["slot_f1"]?.doubleValue == nil
            ? .translation : .slotFilling
        var groups: [String: [String]] = [:]
        for group in ["task", "alignment", "held-out"] {
            groups[group] = first.task["groups"]?[group]?["languages"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        groupLanguages = groups
    }

    /// Mean, sample standard deviation and range of one quantity over seeds.
    public struct Spread: Sendable, Equatable {
        public let values: [Double]
        public init(_ values: [Double]) { self.values = values }

        public var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

        /// The sample standard deviation (n − 1); 0 for a single value.
        public var sd: Double {
            guard values.count > 1 else { return 0 }
            let m = mean
            return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        }

        /// How many values are above zero (for paired differences).
        public var positives: Int { values.filter { $0 > 0 }.count }
    }

    /// The languages of a group, as the first seed's task check names them.
    public func languages(ofGroup group: String) -> [String] { groupLanguages[group] ?? [] }

    /// The languages that retrieval measures: all but English, i.e. all but the
    /// world's task group, and every language of the translation study.
    public var retrievalLanguages: [String] {
        kind == .translation ? languages : languages.filter { !languages(ofGroup: "task").contains($0) }
    }

    /// One seed's `metric` for `setting`, as a group mean or for one language.
    func value(
        _ seed: Seed, _ metric: CheckReport.Metric, _ setting: Setting, group: String? = nil, language: String? = nil
    ) -> Double? {
        let (document, side) = setting.source(seed)
        let scope: JSONValue? =
            if let group { document["groups"]?[group] } else if let language { document["languages"]?[language] } else {
                nil
            }
        return scope?[side]?[metric.rawValue]?.doubleValue
    }

    /// A group's mean of `metric` for `setting`, per seed (seeds without it are left out).
    public func group(_ group: String, _ metric: CheckReport.Metric, _ setting: Setting) -> Spread {
        Spread(seeds.compactMap { value($0, metric, setting, group: group) })
    }

    /// One language's `metric` for `setting`, per seed.
    public func language(_ lang: String, _ metric: CheckReport.Metric, _ setting: Setting) -> Spread {
        Spread(seeds.compactMap { value($0, metric, setting, language: lang) })
    }

    /// `setting` − task only, seed by seed (paired, so the seeds' shared ups and downs cancel);
    /// for a metric where lower is better (loss), task only − `setting`, so a gain is above zero.
    public func gainOverTask(_ group: String, _ metric: CheckReport.Metric, _ setting: Setting) -> Spread {
        Spread(
            seeds.compactMap { seed in
                guard let value = value(seed, metric, setting, group: group),
                    let task = self.value(seed, metric, .task, group: group)
                else { return nil }
                return metric.higherIsBetter ? value - task : task - value
            })
    }

    /// Base-model retrieval at `layer` averaged over `languages`, per seed.
    public func baseRetrieval(layer: Int, over languages: [String]) -> Spread {
        guard let index = layers.firstIndex(of: layer) else { return Spread([]) }
        return Spread(
            seeds.compactMap { seed in
                let values = languages.compactMap { seed.retrieval.perLanguage[$0]?[index] }
                return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
            })
    }
}
