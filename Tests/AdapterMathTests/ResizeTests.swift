import XCTest
import AdapterFormat
import AdapterMath
import Tensors
import TestSupport

/// `resize` (an `svd` merge of one adapter, fixed or rule-chosen ranks,
/// padding) against numpy's SVD of the dense updates
/// (Tests/Fixtures/resize, made by make_resize_fixtures.py from examples/tiny-llama/task-peft).
final class ResizeTests: XCTestCase {
    static let expected = Result { try Fixtures.json("resize/expected.json") }
    static let adapterPath = Fixtures.root + "/../../examples/tiny-llama/task-peft"

    func resize(_ configure: (inout MergeOptions) -> Void) throws -> (
        merger: AdapterMerger, results: [String: (a: Tensor, b: Tensor, report: ModuleMergeReport)]
    ) {
        var options = MergeOptions(method: .svd, weights: [1], dtype: .f32)
        configure(&options)
        let merger = try AdapterMerger(inputs: [try AdapterReader.open(Self.adapterPath)], options: options)
        var results: [String: (a: Tensor, b: Tensor, report: ModuleMergeReport)] = [:]
        for m in merger.outputModules { results[m.path] = try merger.merge(m) }
        return (merger, results)
    }

    func modules() throws -> [(String, JSONValue)] {
        try XCTUnwrap(Self.expected.get()["modules"]?.objectValue)
    }

    /// Eckart–Young: the kept singular values are numpy's largest k, and the
    /// reported error is the tail √(Σ_{i>k} σᵢ²) / ‖ΔW‖_F.
    func testFixedRankIsTheBestApproximation() throws {
        for k in 1...4 {
            let (_, results) = try resize { $0.rank = k }
            XCTAssertEqual(results.count, try modules().count)
            for (path, expected) in try modules() {
                let r = try XCTUnwrap(results[path], path)
                let sigma = try XCTUnwrap(expected["singular_values"]?.arrayValue).compactMap(\.doubleValue)
                let ours = try LowRankDelta(storedA: r.a, storedB: r.b).singularValues()
                for i in 0..<k {
                    XCTAssertEqual(ours[i], sigma[i], accuracy: 1e-4 * sigma[0], "\(path) σ\(i + 1) at rank \(k)")
                }
                let tail = try XCTUnwrap(expected["relative_error_at_rank"]?[String(k)]?.doubleValue)
                XCTAssertEqual(r.report.relativeError, tail, accuracy: 1e-4 * max(tail, 1e-2), "\(path) rank \(k)")
                XCTAssertEqual(r.report.outputRank, k)
                XCTAssertEqual(r.report.keptRank, k)
            }
        }
    }

    func testRulesKeepTheRanksTheirDefinitionsGive() throws {
        let rules: [(String, RankRule)] = [
            ("sv_ratio=2.0", .singularValueRatio(2)), ("sv_ratio=10.0", .singularValueRatio(10)),
            ("sv_fro=0.5", .frobeniusShare(0.5)), ("sv_fro=0.9", .frobeniusShare(0.9)),
            ("sv_fro=0.99", .frobeniusShare(0.99)), ("sv_cumulative=0.5", .cumulativeShare(0.5)),
            ("sv_cumulative=0.9", .cumulativeShare(0.9)),
        ]
        for (key, rule) in rules {
            let (_, results) = try resize { $0.rankRule = rule }
            for (path, expected) in try modules() {
                let kept = try XCTUnwrap(expected["kept"]?[key]?.intValue)
                XCTAssertEqual(results[path]?.report.keptRank, kept, "\(path) \(key)")
                let tail = try XCTUnwrap(expected["relative_error_at_rank"]?[String(kept)]?.doubleValue)
                XCTAssertEqual(results[path]?.report.relativeError ?? -1, tail, accuracy: 1e-4 * max(tail, 1e-2))
            }
        }
        // --max-rank caps the rule.
        let (_, capped) = try resize {
            $0.rankRule = .frobeniusShare(1)
            $0.rank = 2
        }
        XCTAssertTrue(capped.values.allSatisfy { $0.report.keptRank == 2 })
    }

    /// Padding adds exact zeros: the padded update is the unpadded one.
    func testPaddingLandsOnAnAllowedRankWithTheSameUpdate() throws {
        let (_, plain) = try resize { $0.rank = 2 }
        let (merger, padded) = try resize {
            $0.rank = 2
            $0.allowedRanks = [3, 8]
        }
        XCTAssertTrue(merger.outputModules.allSatisfy { $0.rank == 3 && $0.alpha == 3 })
        for (path, r) in padded {
            XCTAssertEqual(r.report.keptRank, 2)
            XCTAssertEqual(r.report.outputRank, 3)
            let p = try XCTUnwrap(plain[path])
            let a = try LowRankDelta(storedA: r.a, storedB: r.b)
            let b = try LowRankDelta(storedA: p.a, storedB: p.b)
            XCTAssertEqual(try a.distance(to: b), 0, accuracy: 1e-12, path)
            XCTAssertEqual(try r.a.floats().suffix(r.a.shape[1]), ArraySlice(repeating: 0, count: r.a.shape[1]))
        }
        // Above the largest allowed rank a module is cut to it.
        let (_, cut) = try resize {
            $0.rank = 4
            $0.allowedRanks = [1, 2]
        }
        XCTAssertTrue(cut.values.allSatisfy { $0.report.outputRank == 2 && $0.report.keptRank == 2 })
    }

    func testRulesAndPaddingNeedTheSVDMethod() throws {
        var options = MergeOptions(method: .concat, weights: [1])
        options.allowedRanks = [8]
        XCTAssertThrowsError(try AdapterMerger(inputs: [try AdapterReader.open(Self.adapterPath)], options: options))
        options = MergeOptions(method: .svd, weights: [1])
        options.rankRule = .frobeniusShare(1.5)
        XCTAssertThrowsError(try AdapterMerger(inputs: [try AdapterReader.open(Self.adapterPath)], options: options))
    }
}
