import Evaluation

/// The text and SVG views of `tune`.
enum TuneText {
    static func band(_ cut: Int?) -> String { cut.map { "layers < \($0)" } ?? "all layers" }

    static func chart(_ r: TuningResult) -> String {
        let metric = r.metric.checkMetric
        return SVGChart.lineChart(
            title: "Dev \(metric.title) against the alignment weight (\(band(r.chosenCut)))",
            xLabel: "alignment weight", yLabel: metric.title, x: r.curve.map(\.weight),
            series: [("mean", r.curve.map(\.score))] + r.perLanguage.map { ($0.language, $0.scores) },
            highlightX: r.chosenWeight)
    }

    static func render(_ r: TuningResult, output: String?) -> String {
        let metric = r.metric.checkMetric
        var out =
            "metric: dev \(metric.title) (\(metric.higherIsBetter ? "higher" : "lower") is better) on \(r.languages.joined(separator: ", ")); curve for the alignment adapter on \(band(r.chosenCut))\n"
        out +=
            Format.pad("weight", 9) + Format.padLeft("mean", 9) + r.languages.map { Format.padLeft($0, 9) }.joined()
            + "\n"
        for (i, point) in r.curve.enumerated() {
            out +=
                Format.pad(Format.fixed(point.weight, 3), 9) + Format.padLeft(Format.fixed(point.score, 4), 9)
                + r.perLanguage.map { Format.padLeft(Format.fixed($0.scores[i], 4), 9) }.joined()
                + (point.weight == r.chosenWeight ? "  ← chosen" : "") + "\n"
        }
        if !r.leaveOneLanguageOut.isEmpty {
            out +=
                "\nleave one language out: the weight chosen on the other languages, and the left-out language's score there\n"
            for entry in r.leaveOneLanguageOut {
                out +=
                    Format.pad(entry.language, 9) + "w = " + Format.fixed(entry.weight, 3) + " on "
                    + Format.pad(band(entry.cut), 14)
                    + "\(metric.title) " + Format.fixed(entry.score, 4) + "\n"
            }
        }
        out +=
            "\nchosen alignment weight: \(Format.fixed(r.chosenWeight, 3)) on \(band(r.chosenCut)) (dev \(metric.title) \(Format.fixed(r.chosenScore, 4)); task adapter alone \(Format.fixed(r.taskAloneScore ?? .nan, 4)))\n"
        if let output {
            out +=
                "wrote \(output): task + \(Format.fixed(r.chosenWeight, 3)) · align on \(band(r.chosenCut)), with the tuning record in its lineage\n"
        }
        return out
    }
}
