import AdapterFormat
import Foundation

/// The check's outcome: per-language metrics of the candidate and the
/// baseline, their group averages, and the gates.
public struct CheckReport: Sendable {
    public enum Metric: String, CaseIterable, Sendable {
        case loss
        case exactMatch = "exact_match"
        /// sacreBLEU's chrF (0…100) on free-form references; see ``ChrF``.
        case chrF = "chrf"
        case slotF1 = "slot_f1"
        case slotLabelF1 = "slot_label_f1"
        case retrieval

        /// Whether a larger value is better.
        public var higherIsBetter: Bool { self != .loss }

        public var title: String {
            switch self {
            case .loss: "loss"
            case .exactMatch: "exact"
            case .chrF: "chrF"
            case .slotF1: "slot F1"
            case .slotLabelF1: "label F1"
            case .retrieval: "retrieval"
            }
        }

        /// The largest value the metric takes (nil: unbounded): chrF is on sacreBLEU's 0…100
        /// scale, the shares and F1 scores on 0…1.
        public var maximum: Double? {
            switch self {
            case .loss: nil
            case .chrF: 100
            case .exactMatch, .slotF1, .slotLabelF1, .retrieval: 1
            }
        }

        public func value(_ m: LanguageMetrics) -> Double? {
            switch self {
            case .loss: m.loss.isFinite ? m.loss : nil
            case .exactMatch: m.examples > 0 && m.exactMatch.isFinite ? m.exactMatch : nil
            case .chrF: m.chrF
            case .slotF1: m.slotF1
            case .slotLabelF1: m.slotLabelF1
            case .retrieval: m.retrieval
            }
        }
    }

    /// A gate and whether it held.
    public struct Gate: Sendable {
        public let name: String
        public let passed: Bool
        public let detail: String
    }

    public let languages: [String]
    public let candidate: SettingResult
    public let baseline: SettingResult?
    public let groups: LanguageGroups
    public let layer: Int
    public let candidateName: String
    public let baselineName: String?
    public var gates: [Gate] = []

    public init(
        languages: [String], candidate: SettingResult, baseline: SettingResult?, groups: LanguageGroups, layer: Int,
        candidateName: String, baselineName: String?
    ) {
        self.languages = languages
        self.candidate = candidate
        self.baseline = baseline
        self.groups = groups
        self.layer = layer
        self.candidateName = candidateName
        self.baselineName = baselineName
    }

    /// The metrics that some language has a value for, in display order.
    public var metrics: [Metric] {
        Metric.allCases.filter { metric in
            languages.contains { lang in candidate.metrics[lang].flatMap(metric.value) != nil }
        }
    }

    /// Named groups of languages: seen in task data, seen in alignment data, held out.
    public var namedGroups: [(name: String, languages: [String])] {
        let present = Set(languages)
        return [
            ("task", groups.task.filter(present.contains)), ("alignment", groups.alignment.filter(present.contains)),
            ("held-out", groups.heldOut(among: languages)),
        ]
    }

    /// The mean of `metric` over `languages` for one setting (nil when none has it).
    public func mean(_ metric: Metric, of setting: SettingResult?, over languages: [String]) -> Double? {
        guard let setting else { return nil }
        let values = languages.compactMap { setting.metrics[$0].flatMap(metric.value) }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// The quality metric gates compare: slot F1 when the data has slots, else exact match.
    public var primaryMetric: Metric { metrics.contains(.slotF1) ? .slotF1 : .exactMatch }

    /// Applies `--min-gain` (held-out primary metric, candidate − baseline),
    /// `--min-chrf-gain` (held-out chrF, candidate − baseline, in chrF points) and
    /// `--max-loss-increase` (held-out loss, candidate − baseline).
    public mutating func applyGates(
        minimumGain: Double?, maximumLossIncrease: Double?, minimumChrFGain: Double? = nil
    ) {
        let heldOut = groups.heldOut(among: languages)
        func gainGate(_ name: String, _ metric: Metric, required: Double) {
            let c = mean(metric, of: candidate, over: heldOut)
            let b = mean(metric, of: baseline, over: heldOut)
            if let c, let b {
                let gain = c - b
                gates.append(
                    Gate(
                        name: name, passed: gain >= required,
                        detail:
                            "held-out \(metric.title) gain \(Self.signed(gain)) (candidate \(Self.fixed(c)), baseline \(Self.fixed(b))), required ≥ \(Self.fixed(required))"
                    ))
            } else {
                gates.append(
                    Gate(
                        name: name, passed: false,
                        detail:
                            "no held-out \(metric.title) to compare (held-out languages: \(heldOut.isEmpty ? "none" : heldOut.joined(separator: ", ")))"
                    ))
            }
        }
        if let minimumGain { gainGate("min-gain", primaryMetric, required: minimumGain) }
        if let minimumChrFGain { gainGate("min-chrf-gain", .chrF, required: minimumChrFGain) }
        if let maximumLossIncrease {
            let c = mean(.loss, of: candidate, over: heldOut)
            let b = mean(.loss, of: baseline, over: heldOut)
            if let c, let b {
                let increase = c - b
                gates.append(
                    Gate(
                        name: "max-loss-increase", passed: increase <= maximumLossIncrease,
                        detail:
                            "held-out loss change \(Self.signed(increase)) (candidate \(Self.fixed(c)), baseline \(Self.fixed(b))), allowed ≤ \(Self.fixed(maximumLossIncrease))"
                    ))
            } else {
                gates.append(Gate(name: "max-loss-increase", passed: false, detail: "no held-out loss to compare"))
            }
        }
    }

    public var failedGates: [Gate] { gates.filter { !$0.passed } }

    // MARK: - Output

    /// The `--json` document: `languages` (lang → candidate/baseline metrics), `groups`, `gates`.
    public var json: JSONValue {
        func metricsJSON(_ m: LanguageMetrics?) -> JSONValue {
            guard let m else { return .null }
            return .object(
                Metric.allCases.map { (key: $0.rawValue, value: $0.value(m).map(JSONValue.double) ?? .null) }
                    + [(key: "examples", value: .int(m.examples))])
        }
        var groupsJSON: [(key: String, value: JSONValue)] = []
        for (name, langs) in namedGroups {
            var entry: [(key: String, value: JSONValue)] = [("languages", .array(langs.map(JSONValue.string)))]
            for (side, setting) in [("candidate", candidate), ("baseline", baseline)] {
                entry.append(
                    (
                        side,
                        setting == nil
                            ? .null
                            : .object(
                                metrics.map { m in
                                    (
                                        key: m.rawValue,
                                        value: mean(m, of: setting, over: langs).map(JSONValue.double) ?? .null
                                    )
                                })
                    ))
            }
            groupsJSON.append((name, .object(entry)))
        }
        return [
            "candidate": .string(candidateName),
            "baseline": baselineName.map(JSONValue.string) ?? .null,
            "layer": .int(layer),
            "languages": .object(
                languages.map { lang in
                    (
                        key: lang,
                        value: [
                            "candidate": metricsJSON(candidate.metrics[lang]),
                            "baseline": metricsJSON(baseline?.metrics[lang]),
                        ]
                    )
                }),
            "groups": .object(groupsJSON),
            "gates": .array(
                gates.map { ["name": .string($0.name), "passed": .bool($0.passed), "detail": .string($0.detail)] }),
        ]
    }

    /// Rows of the per-language table: the candidate's value and the delta against the baseline.
    func cells(_ metric: Metric, _ langs: [String]?) -> (value: String, delta: String) {
        let c: Double?
        let b: Double?
        if let langs {
            c = mean(metric, of: candidate, over: langs)
            b = mean(metric, of: baseline, over: langs)
        } else {
            c = nil
            b = nil
        }
        return (c.map { Self.fixed($0) } ?? "–", (c != nil && b != nil) ? Self.signed(c! - b!) : "")
    }

    /// The readable table: one row per language and per group, each metric with its delta.
    public var text: String {
        var lines: [String] = []
        lines.append(
            "candidate: \(candidateName)" + (baselineName.map { "    baseline: \($0)" } ?? "")
                + "    retrieval at layer \(layer)")
        let header =
            Self.pad("", 16)
            + metrics.map { Self.padLeft($0.title, 10) + (baseline == nil ? "" : Self.padLeft("Δ", 8)) }.joined()
        lines.append(header)
        let groupOf = { (lang: String) -> String in
            self.groups.task.contains(lang) ? "task" : self.groups.alignment.contains(lang) ? "aligned" : "held-out"
        }
        for lang in languages {
            var row = Self.pad("\(lang) (\(groupOf(lang)))", 16)
            for m in metrics {
                let (v, d) = cells(m, [lang])
                row += Self.padLeft(v, 10) + (baseline == nil ? "" : Self.padLeft(d, 8))
            }
            lines.append(row)
        }
        lines.append(String(repeating: "-", count: header.count))
        for (name, langs) in namedGroups where !langs.isEmpty {
            var row = Self.pad("mean \(name)", 16)
            for m in metrics {
                let (v, d) = cells(m, langs)
                row += Self.padLeft(v, 10) + (baseline == nil ? "" : Self.padLeft(d, 8))
            }
            lines.append(row)
        }
        for gate in gates { lines.append("gate \(gate.name): \(gate.passed ? "passed" : "FAILED"): \(gate.detail)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A GitHub-flavoured Markdown summary for CI step summaries.
    public var markdown: String {
        var out =
            "### adaptermerge check: \(Self.markdownEscape(candidateName))"
            + (baselineName.map { " vs \(Self.markdownEscape($0))" } ?? "") + "\n\n"
        out +=
            "| language | group | "
            + metrics.map { $0.title + (baseline == nil ? "" : " (Δ)") }.joined(separator: " | ") + " |\n"
        out += "| --- | --- |" + String(repeating: " ---: |", count: metrics.count) + "\n"
        let groupOf = { (lang: String) -> String in
            self.groups.task.contains(lang) ? "task" : self.groups.alignment.contains(lang) ? "aligned" : "held-out"
        }
        for lang in languages {
            out +=
                "| \(Self.markdownEscape(lang)) | \(groupOf(lang)) | "
                + metrics.map { m in
                    let (v, d) = cells(m, [lang])
                    return d.isEmpty ? v : "\(v) (\(d))"
                }.joined(separator: " | ") + " |\n"
        }
        for (name, langs) in namedGroups where !langs.isEmpty {
            out +=
                "| **mean** | **\(name)** | "
                + metrics.map { m in
                    let (v, d) = cells(m, langs)
                    return d.isEmpty ? "**\(v)**" : "**\(v)** (\(d))"
                }.joined(separator: " | ") + " |\n"
        }
        if !gates.isEmpty {
            out += "\n"
            for gate in gates {
                out += "- \(gate.passed ? "✅" : "❌") `\(gate.name)`: \(Self.markdownEscape(gate.detail))\n"
            }
        }
        return out
    }

    static func fixed(_ x: Double) -> String { String(format: "%.3f", x) }
    static func signed(_ x: Double) -> String { (x >= 0 ? "+" : "") + String(format: "%.3f", x) }
    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }
    static func padLeft(_ s: String, _ n: Int) -> String {
        s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s
    }
    static func markdownEscape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
}
