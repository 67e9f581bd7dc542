import AdapterFormat
import Evaluation
import TestSupport
import Transformer
import XCTest

/// check's rules, now in the library: kept languages, groups, the alignment layer, the gates' inputs.
final class CandidateCheckTests: XCTestCase {
    static let model = Result { try TransformerModel(directory: Fixtures.path("runtime/llama")) }
    static let tokenizer = Result { try Tokenizer(directory: Fixtures.path("runtime/llama")) }

    func check(languages: Set<String>? = nil, task: [String]? = nil, layer: Int? = nil) throws -> CandidateCheck {
        try CandidateCheck(
            model: try Self.model.get(), tokenizer: try Self.tokenizer.get(),
            candidate: .init(adapters: [], name: "base"), baseline: nil,
            rows: try JSONLines.read(Fixtures.path("runtime/score.jsonl")),
            pairs: try JSONLines.read(Fixtures.path("runtime/pairs.jsonl")),
            languages: languages, taskLanguages: task, layer: layer)
    }

    func testTheLayerRule() throws {
        let layers = try Self.model.get().config.layerCount
        XCTAssertEqual(try check().layer, layers / 2, "no recipe: the middle")
        XCTAssertEqual(try check(layer: 0).layer, 0)
        XCTAssertEqual(try check(layer: layers).layer, layers)
        XCTAssertThrowsError(try check(layer: layers + 1)) { error in
            XCTAssertTrue("\(error)".contains("alignment layer \(layers + 1)"), "\(error)")
        }
    }

    func testLanguagesAndGroups() throws {
        let all = try check()
        let first = try XCTUnwrap(all.rows.first?.optionalString("lang"))
        let one = try check(languages: [first], task: [first])
        XCTAssertTrue(one.rows.allSatisfy { $0.optionalString("lang") == first })
        XCTAssertTrue(one.pairs.allSatisfy { $0.optionalString("lang") == first })
        XCTAssertEqual(one.groups.task, [first])
        XCTAssertEqual(one.plannedDecodes, one.rows.count, "no baseline: one setting")
        XCTAssertThrowsError(try check(languages: ["no-such-language"])) { error in
            XCTAssertTrue("\(error)".contains("no rows left"), "\(error)")
        }
    }

    func testTheChrFGateRunsWithTheOthers() throws {
        let c = try CandidateCheck(
            model: try Self.model.get(), tokenizer: try Self.tokenizer.get(),
            candidate: .init(
                adapters: [(try AdapterReader.open(Fixtures.path("runtime/llama-adapters/a")), 1)], name: "a"),
            baseline: .init(adapters: [], name: "base"),
            rows: try JSONLines.read(Fixtures.path("runtime/score.jsonl")), pairs: [], taskLanguages: ["en"])
        let (report, candidate, baseline) = try c.run(
            minimumGain: -1, maximumLossIncrease: 1e9, minimumChrFGain: 101)
        XCTAssertEqual(report.gates.map(\.name), ["min-gain", "min-chrf-gain", "max-loss-increase"])
        XCTAssertEqual(report.failedGates.map(\.name), ["min-chrf-gain"], "no chrF gains more than 100 points")
        XCTAssertNotNil(candidate.metrics["de"]?.chrF)
        XCTAssertNotNil(baseline?.metrics["de"]?.chrF)
    }
}
