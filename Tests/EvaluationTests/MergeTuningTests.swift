import AdapterFormat
import Evaluation
import TestSupport
import Transformer
import XCTest

/// tune's search and result, moved out of the CLI: bands searched together, the record read back.
final class MergeTuningTests: XCTestCase {
    func testSettingsAreSearchedTogetherAndLeftOutPerLanguage() throws {
        // Band 0 (all layers) peaks at 0.3 with score -x; band 1 (a cut) peaks at 0.6 and is better by 0.1 for a and b, worse for c.
        func band(_ optimum: Double, _ offsets: [String: Double]) -> WeightSearch {
            WeightSearch(grid: [0, 0.25, 0.5, 0.75, 1], refinements: 8) { w in
                offsets.mapValues { $0 - abs(optimum - w) }
            }
        }
        let settings = SettingSearch(searches: [
            band(0.3, ["a": 0, "b": 0, "c": 0]), band(0.6, ["a": 0.1, "b": 0.1, "c": -0.5]),
        ])
        let best = try settings.best(over: ["a", "b"])
        XCTAssertEqual(best.band, 1)
        XCTAssertEqual(best.weight, 0.6, accuracy: 0.02)
        XCTAssertEqual(try settings.best(over: ["c"]).band, 0)
        let lolo = try settings.leaveOneLanguageOut(["a", "b", "c"])
        XCTAssertEqual(lolo.map(\.language), ["a", "b", "c"])
        // Chosen on b and c (mean 0.1 - 0.5 ... vs 0): band 0; c left out is judged on band 1 chosen by a and b.
        XCTAssertEqual(lolo[0].band, 0)
        XCTAssertEqual(lolo[2].band, 1)
        XCTAssertEqual(lolo[2].score, -0.5, accuracy: 0.02)
    }

    func testTheRecordIsReadBackAsWritten() throws {
        let result = TuningResult(
            metric: .slotF1, grid: [0, 0.5, 1], refinements: 2, cutsTried: [nil, 8],
            dev: [("dev.jsonl", "0123456789abcdef")], languages: ["en", "de"], chosenWeight: 0.25,
            chosenCut: 8, chosenScore: 0.7, curve: [(0, 0.6), (0.25, 0.7)],
            leaveOneLanguageOut: [("en", 0.25, 8, 0.8), ("de", 0, nil, 0.5)])
        let again = try TuningResult(
            json: try JSONValue(parsing: Array(result.json.prettyText().utf8)), path: "tune.json")
        XCTAssertEqual(again.json, result.json)
        XCTAssertEqual(again.chosenCut, 8)
        XCTAssertEqual(again.leaveOneLanguageOut[1].cut, nil)
        XCTAssertThrowsError(try TuningResult(json: ["metric": "f1"], path: "tune.json")) { error in
            XCTAssertEqual((error as? FormatError)?.location, "metric")
        }
    }

    func testChrFIsAMetricToTuneOnFreeFormReferencesOnly() throws {
        let result = TuningResult(
            metric: .chrf, grid: [0, 1], refinements: 0, cutsTried: [nil], dev: [("dev.jsonl", "0123456789abcdef")],
            languages: ["de"], chosenWeight: 1, chosenCut: nil, chosenScore: 41.5, curve: [(0, 40), (1, 41.5)],
            leaveOneLanguageOut: [])
        XCTAssertEqual(result.json["metric"]?.stringValue, "chrf")
        XCTAssertEqual(try TuningResult(json: result.json, path: "tune.json").metric, .chrf)
        XCTAssertEqual(MergeTuning.Metric.chrf.checkMetric, .chrF)
        XCTAssertTrue(MergeTuning.Metric.chrf.checkMetric.higherIsBetter)

        let dir = try Fixtures.scratchDirectory()
        let dev = dir + "/slots.jsonl"
        try Fixtures.write(
            Array(
                """
                {"prefix": "wake me at seven", "text": "time: seven", "lang": "en"}
                {"prefix": "hello", "text": "None", "lang": "de"}

                """.utf8), to: dev)
        let llama = Fixtures.path("runtime/llama")
        func tuning(_ metric: MergeTuning.Metric?) throws -> MergeTuning {
            try MergeTuning(
                model: try TransformerModel(directory: llama), tokenizer: try Tokenizer(directory: llama),
                task: try AdapterReader.open(Fixtures.path("runtime/llama-adapters/a")),
                align: try AdapterReader.open(Fixtures.path("runtime/llama-adapters/b")), devFiles: [dev],
                metric: metric, grid: [0, 1], refinements: 0, cuts: [])
        }
        XCTAssertThrowsError(try tuning(.chrf)) { error in
            XCTAssertTrue("\(error)".contains("chrF is measured on free-form references only"), "\(error)")
        }
        XCTAssertEqual(try tuning(nil).metric, .slotF1, "the default is unchanged")
    }
}
