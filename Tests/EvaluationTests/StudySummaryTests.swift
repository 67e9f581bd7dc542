import XCTest
import AdapterFormat
@testable import Evaluation

/// The study summary: statistics over seeds, paired gains, and the Markdown section it replaces.
final class StudySummaryTests: XCTestCase {
    /// A check document as `check --json` writes it, with slot F1 per group for candidate and baseline.
    func check(candidate: [String: Double], baseline: [String: Double]?) -> JSONValue {
        let members = ["task": ["en"], "alignment": ["xa"], "held-out": ["xb"]]
        func side(_ values: [String: Double]?, _ group: String) -> JSONValue {
            guard let values else { return .null }
            return [
                "slot_f1": .double(values[group] ?? .nan),
                "retrieval": group == "task" ? .null : .double(values[group]! / 2),
            ]
        }
        return [
            "layer": .int(1),
            "languages": .object(
                ["en", "xa", "xb"].map { lang in
                    let group = members.first { $0.value.contains(lang) }!.key
                    func metrics(_ values: [String: Double]) -> JSONValue {
                        [
                            "slot_f1": .double(values[group]!),
                            "retrieval": group == "task" ? .null : .double(values[group]! / 2),
                        ]
                    }
                    return (
                        key: lang, value: ["candidate": metrics(candidate), "baseline": baseline.map(metrics) ?? .null]
                    )
                }),
            "groups": .object(
                ["task", "alignment", "held-out"].map { g in
                    (
                        key: g,
                        value: [
                            "languages": .array(members[g]!.map(JSONValue.string)),
                            "candidate": side(candidate, g), "baseline": side(baseline, g),
                        ]
                    )
                }),
        ]
    }

    func seed(_ name: String, task: Double, merged: Double, joint: Double, curve: [Double]) -> StudySummary.Seed {
        let base = ["task": 0.0, "alignment": 0.0, "held-out": 0.0]
        func all(_ v: Double) -> [String: Double] { ["task": v + 0.5, "alignment": v, "held-out": v] }
        return StudySummary.Seed(
            name: name,
            retrieval: RetrievalAnalysis(
                languages: ["xa", "xb"], perLanguage: ["xa": curve, "xb": curve.map { $0 / 2 }], mean: curve),
            task: check(candidate: all(task), baseline: base),
            untuned: check(candidate: all(task - 0.2), baseline: all(task)),
            merged: check(candidate: all(merged), baseline: all(task)),
            joint: check(candidate: all(joint), baseline: all(task)),
            tune: TuningResult(
                metric: .slotF1, grid: [0, 0.25], refinements: 0, cutsTried: [nil, 1], dev: [], languages: ["en"],
                chosenWeight: 0.25, chosenCut: 1, chosenScore: 0.7, curve: [(0, 0.6), (0.25, 0.7)],
                leaveOneLanguageOut: []),
            pretrainLoss: 1.25, stageSeconds: [("pretrain", 480), ("task", 60)])
    }

    func summary() throws -> StudySummary {
        try StudySummary(seeds: [
            seed("seed-1", task: 0.2, merged: 0.3, joint: 0.1, curve: [0.1, 0.6, 0.3]),
            seed("seed-2", task: 0.4, merged: 0.3, joint: 0.6, curve: [0.3, 0.8, 0.5]),
        ])
    }

    func testMeansSpreadsAndPairedGains() throws {
        let s = try summary()
        XCTAssertEqual(s.languages(ofGroup: "held-out"), ["xb"])
        XCTAssertEqual(s.group("held-out", .slotF1, .task).mean, 0.3, accuracy: 1e-12)
        XCTAssertEqual(s.group("held-out", .slotF1, .task).sd, 0.02.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.group("held-out", .slotF1, .base).values, [0, 0])
        XCTAssertEqual(s.group("task", .slotF1, .joint).values, [0.6, 1.1])
        // Paired: merged − task is +0.1 then −0.1.
        let gain = s.gainOverTask("held-out", .slotF1, .merged)
        XCTAssertEqual(gain.values[0], 0.1, accuracy: 1e-12)
        XCTAssertEqual(gain.values[1], -0.1, accuracy: 1e-12)
        XCTAssertEqual(gain.positives, 1)
        for (ours, expected) in zip(s.baseRetrieval(layer: 1, over: ["xa", "xb"]).values, [0.45, 0.6]) {
            XCTAssertEqual(ours, expected, accuracy: 1e-12)
        }
        XCTAssertEqual(s.group("alignment", .retrieval, .joint).values, [0.05, 0.3])
    }

    func testSpreadIsTheSampleStandardDeviation() {
        let s = StudySummary.Spread([2, 4, 4, 4, 5, 5, 7, 9])
        XCTAssertEqual(s.mean, 5)
        XCTAssertEqual(s.sd, (32.0 / 7).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(StudySummary.Spread([3]).sd, 0)
    }

    func testMarkdownAndChart() throws {
        let s = try summary()
        let md = s.markdown
        XCTAssertTrue(md.contains("| 1 | 0.700 ± 0.141 | 0.350 ± 0.071 | 0.70 ± 0.14 | 0.35 ± 0.07 |"), md)
        XCTAssertTrue(md.contains("| task only (F2) | 0.800 ± 0.141 | 0.300 ± 0.141 | 0.300 ± 0.141 |"), md)
        XCTAssertTrue(md.contains("| gain of task + align, tuned (F3) over task only | +0.000 ± 0.141 (1/2) |"), md)
        XCTAssertTrue(md.contains("| seed-2 | 0.250 | below 1 | 0.700 | 0.600 |"), md)
        XCTAssertTrue(md.contains("| xb (held out) | 0.00 ± 0.00 | 0.15 ± 0.07 | 0.05 ± 0.07 | 0.15 ± 0.00 |"), md)
        XCTAssertTrue(
            md.contains(
                "| seed-1 | 1.250 | 0.700 | 0.200 / 0.000 / 0.300 / 0.100 | 0.100 / 0.000 / 0.150 / 0.050 | 9.0 |"), md)
        let svg = s.retrievalChart
        XCTAssertTrue(svg.contains("<polygon"), "the ±1 sd band")
        XCTAssertTrue(svg.contains("xb (held out)"))
    }

    /// A check document of the translation study: chrF and loss, no slots, retrieval in every group.
    func translationCheck(chrF: Double, loss: Double) -> JSONValue {
        let members = ["task": ["de"], "alignment": ["ru"], "held-out": ["uk"]]
        func metrics(_ group: String) -> JSONValue {
            let shift = group == "task" ? 10.0 : 0
            return [
                "loss": .double(loss), "chrf": .double(chrF + shift), "slot_f1": .null, "retrieval": .double(0.5),
            ]
        }
        return [
            "layer": .int(1),
            "languages": .object(
                ["de", "ru", "uk"].map { lang in
                    let group = members.first { $0.value.contains(lang) }!.key
                    return (key: lang, value: ["candidate": metrics(group), "baseline": .null])
                }),
            "groups": .object(
                ["task", "alignment", "held-out"].map { g in
                    (
                        key: g,
                        value: [
                            "languages": .array(members[g]!.map(JSONValue.string)), "candidate": metrics(g),
                            "baseline": .null,
                        ]
                    )
                }),
        ]
    }

    func testTheTranslationStudyLeadsWithChrFAndCountsALowerLossAsAGain() throws {
        let curve = [0.2, 0.9, 0.4]
        let s = try StudySummary(seeds: [
            StudySummary.Seed(
                name: "seed-1",
                retrieval: RetrievalAnalysis(
                    languages: ["de", "ru", "uk"], perLanguage: ["de": curve, "ru": curve, "uk": [0.9, 0.4, 0.2]],
                    mean: curve),
                task: translationCheck(chrF: 30, loss: 2), untuned: translationCheck(chrF: 28, loss: 2.5),
                merged: translationCheck(chrF: 33, loss: 1.5), joint: translationCheck(chrF: 31, loss: 2.25),
                tune: TuningResult(
                    metric: .loss, grid: [0, 0.5], refinements: 0, cutsTried: [nil], dev: [], languages: ["de", "ru"],
                    chosenWeight: 0.5, chosenCut: nil, chosenScore: 1.9, curve: [(0, 2.0), (0.5, 1.9)],
                    leaveOneLanguageOut: []),
                training: [StudySummary.TrainingBudget(stage: "task", steps: 300, tokens: 1_234_567)])
        ])
        XCTAssertEqual(s.kind, .translation)
        XCTAssertEqual(s.kind.section, "real-study")
        XCTAssertEqual(s.retrievalLanguages, ["de", "ru", "uk"], "the task languages have translations too")
        XCTAssertEqual(s.gainOverTask("held-out", .loss, .merged).values, [0.5], "2 → 1.5 is a gain of 0.5")
        XCTAssertEqual(s.gainOverTask("held-out", .chrF, .untuned).values, [-2])
        let md = s.markdown
        XCTAssertTrue(md.contains("#### chrF of the translation into English (0–100), test rows per group"), md)
        XCTAssertTrue(md.contains("| setting | task (de) | aligned (ru) | held out (uk) |"), md)
        XCTAssertTrue(md.contains("| layer | task (de) | aligned (ru) | held out (uk) | de | ru | uk |"), md)
        XCTAssertTrue(md.contains("Best layer per language (mean over seeds): de 1, ru 1, uk 0."), md)
        XCTAssertTrue(
            md.contains("| uk (held out) | – / – | 30.00 / 2.00 | 28.00 / 2.50 | 33.00 / 1.50 | 31.00 / 2.25 |"), md)
        XCTAssertTrue(md.contains("| seed-1 | 40.000 | 30.000 / 28.000 / 33.000 / 31.000 |"), md)
        XCTAssertTrue(md.contains("| 300 (1.23 M) / – / – |"), md)
        XCTAssertFalse(md.contains("slot F1"), md)
    }

    func testResultsReplaceOnlyTheirSection() throws {
        let doc = "# Study\nprose\n<!-- study:begin -->\nold\n<!-- study:end -->\nmore prose\n"
        XCTAssertEqual(
            try StudySummary.replacingResults(in: doc, with: "new\n", path: "STUDY.md"),
            "# Study\nprose\n<!-- study:begin -->\nnew\n<!-- study:end -->\nmore prose\n")
        let both = doc + "<!-- real-study:begin -->\nold\n<!-- real-study:end -->\n"
        XCTAssertEqual(
            try StudySummary.replacingResults(in: both, with: "new\n", path: "STUDY.md", section: "real-study"),
            doc + "<!-- real-study:begin -->\nnew\n<!-- real-study:end -->\n")
        XCTAssertThrowsError(try StudySummary.replacingResults(in: "# no markers\n", with: "x", path: "STUDY.md")) {
            XCTAssertTrue("\($0)".hasPrefix("STUDY.md: no \"<!-- study:begin -->\""), "\($0)")
        }
    }
}
