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

    func testResultsReplaceOnlyTheirSection() throws {
        let doc = "# Study\nprose\n<!-- study:begin -->\nold\n<!-- study:end -->\nmore prose\n"
        XCTAssertEqual(
            try StudySummary.replacingResults(in: doc, with: "new\n", path: "STUDY.md"),
            "# Study\nprose\n<!-- study:begin -->\nnew\n<!-- study:end -->\nmore prose\n")
        XCTAssertThrowsError(try StudySummary.replacingResults(in: "# no markers\n", with: "x", path: "STUDY.md")) {
            XCTAssertTrue("\($0)".hasPrefix("STUDY.md: no \"<!-- study:begin -->\""), "\($0)")
        }
    }
}
