import XCTest
import Evaluation

/// The weight search on known curves.
final class WeightSearchTests: XCTestCase {
    func testGridThenGoldenSectionFindsTheMaximum() throws {
        // Each language's score peaks at its own weight; the mean peaks at their mean, 0.37.
        let optima = ["a": 0.27, "b": 0.47]
        var calls = 0
        let search = WeightSearch(grid: [0, 0.25, 0.5, 0.75, 1], refinements: 12) { w in
            calls += 1
            return optima.mapValues { -($0 - w) * ($0 - w) }
        }
        let best = try search.best(over: ["a", "b"])
        XCTAssertEqual(best.weight, 0.37, accuracy: 2e-3)
        XCTAssertEqual(calls, search.evaluated.count, "each weight is evaluated once")
        XCTAssertLessThanOrEqual(calls, 5 + 12 + 1)
    }

    func testLeaveOneLanguageOutChoosesOnTheOthers() throws {
        let optima = ["a": 0.2, "b": 0.8, "c": 0.8]
        let search = WeightSearch(grid: [0, 0.25, 0.5, 0.75, 1], refinements: 10) { w in
            optima.mapValues { -abs($0 - w) }
        }
        let lolo = try search.leaveOneLanguageOut(["a", "b", "c"])
        XCTAssertEqual(lolo.map(\.language), ["a", "b", "c"])
        // Left out, a gets the weight b and c like (0.8), and is judged there.
        XCTAssertEqual(lolo[0].weight, 0.8, accuracy: 0.02)
        XCTAssertEqual(lolo[0].score, -0.6, accuracy: 0.02)
        // b and c each get a weight between a's and the other's optimum, never fitted to themselves alone.
        XCTAssertTrue((0.2...0.8).contains(lolo[1].weight))
        XCTAssertEqual(try search.leaveOneLanguageOut(["a"]).count, 0, "one language cannot be left out")
    }

    func testAFlatCurveKeepsTheLighterMerge() throws {
        let search = WeightSearch(grid: [0, 0.5, 1], refinements: 3) { _ in ["a": 1] }
        XCTAssertEqual(try search.best(over: ["a"]).weight, 0)
    }
}
