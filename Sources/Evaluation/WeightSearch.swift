/// A search for the merge weight that maximises a dev metric: a coarse grid,
/// then golden-section refinement around the best grid point.
///
/// Every weight is evaluated once for all languages (`evaluate` returns a
/// score per language, higher is better) and cached, so the leave-one-
/// language-out searches reuse each other's evaluations.
public final class WeightSearch {
    /// Scores per language at one weight; higher is better.
    public typealias Evaluate = (Double) throws -> [String: Double]

    public let grid: [Double]
    public let refinements: Int
    private let evaluate: Evaluate
    /// Every weight evaluated so far, with its scores.
    public private(set) var evaluated: [Double: [String: Double]] = [:]

    /// - Parameters:
    ///   - grid: the coarse weights, in increasing order.
    ///   - refinements: golden-section steps after the grid.
    public init(grid: [Double], refinements: Int, evaluate: @escaping Evaluate) {
        self.grid = grid.sorted()
        self.refinements = refinements
        self.evaluate = evaluate
    }

    /// The mean score over `languages` at `weight` (weights are rounded to
    /// 10⁻⁶, so golden-section points reached from different brackets are one).
    public func score(_ weight: Double, over languages: [String]) throws -> Double {
        let weight = WeightSearch.rounded(weight)
        if evaluated[weight] == nil { evaluated[weight] = try evaluate(weight) }
        let scores = languages.compactMap { evaluated[weight]?[$0] }.filter(\.isFinite)
        return scores.isEmpty ? -.infinity : scores.reduce(0, +) / Double(scores.count)
    }

    /// The best weight for `languages`: the grid, then golden-section steps in
    /// the bracket around the best grid point; the best weight evaluated wins
    /// (the smaller one on ties, so a flat curve keeps the lighter merge).
    public func best(over languages: [String]) throws -> (weight: Double, score: Double) {
        guard !grid.isEmpty else { return (0, -.infinity) }
        let scores = try grid.map { try score($0, over: languages) }
        var bestIndex = 0
        for i in scores.indices where scores[i] > scores[bestIndex] { bestIndex = i }
        var lo = grid[max(0, bestIndex - 1)]
        var hi = grid[min(grid.count - 1, bestIndex + 1)]
        var candidates = Array(zip(grid, scores))
        if hi > lo && refinements > 0 {
            let ratio = (5.0.squareRoot() - 1) / 2
            var x1 = hi - ratio * (hi - lo)
            var x2 = lo + ratio * (hi - lo)
            var f1 = try score(x1, over: languages)
            var f2 = try score(x2, over: languages)
            candidates += [(x1, f1), (x2, f2)]
            for _ in 1..<max(refinements, 1) {
                if f1 >= f2 {
                    hi = x2
                    x2 = x1
                    f2 = f1
                    x1 = hi - ratio * (hi - lo)
                    f1 = try score(x1, over: languages)
                    candidates.append((x1, f1))
                } else {
                    lo = x1
                    x1 = x2
                    f1 = f2
                    x2 = lo + ratio * (hi - lo)
                    f2 = try score(x2, over: languages)
                    candidates.append((x2, f2))
                }
            }
        }
        let best = candidates.reduce(candidates[0]) { best, c in
            c.1 > best.1 || (c.1 == best.1 && c.0 < best.0) ? c : best
        }
        return (WeightSearch.rounded(best.0), best.1)
    }

    static func rounded(_ weight: Double) -> Double { (weight * 1e6).rounded() / 1e6 }

    /// Leave-one-language-out: for each language, the weight chosen on all the
    /// others, and that language's score there, so no language judges the
    /// weight fitted to it.
    public func leaveOneLanguageOut(_ languages: [String]) throws -> [(language: String, weight: Double, score: Double)]
    {
        try SettingSearch(searches: [self]).leaveOneLanguageOut(languages).map { ($0.language, $0.weight, $0.score) }
    }
}

/// Several weight searches, one per setting (a layer band), searched together:
/// the best (setting, weight) over some languages, the earlier setting on ties.
public struct SettingSearch {
    public let searches: [WeightSearch]

    public init(searches: [WeightSearch]) { self.searches = searches }

    public func best(over languages: [String]) throws -> (band: Int, weight: Double, score: Double) {
        var best: (band: Int, weight: Double, score: Double)?
        for (b, search) in searches.enumerated() {
            let r = try search.best(over: languages)
            if best == nil || r.score > best!.score { best = (b, r.weight, r.score) }
        }
        return best ?? (0, 0, -.infinity)
    }

    /// Leave-one-language-out over every setting: for each language, the setting
    /// and weight chosen on the others, and that language's score there.
    public func leaveOneLanguageOut(_ languages: [String]) throws -> [(
        language: String, band: Int, weight: Double, score: Double
    )] {
        guard languages.count > 1 else { return [] }
        return try languages.map { held in
            let pick = try best(over: languages.filter { $0 != held })
            return (held, pick.band, pick.weight, try searches[pick.band].score(pick.weight, over: [held]))
        }
    }
}
