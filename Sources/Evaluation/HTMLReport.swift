import Foundation

extension CheckReport {
    /// One self-contained page (no scripts, no network): the summary table,
    /// per-language bars of candidate and baseline for every metric, and the
    /// per-layer retrieval curves of both. Written as XHTML, so any XML
    /// parser can check it.
    public var html: String {
        let title = "adaptermerge check: " + candidateName + (baselineName.map { " vs " + $0 } ?? "")
        var body = "<h1>\(SVGChart.escape(title))</h1>\n"
        body +=
            "<p>Retrieval at layer \(layer). Groups: task \(list(groups.task)); aligned \(list(groups.alignment)); held out \(list(groups.heldOut(among: languages))).</p>\n"
        if !gates.isEmpty {
            body +=
                "<ul class=\"gates\">\n"
                + gates.map {
                    "<li class=\"\($0.passed ? "pass" : "fail")\">\($0.passed ? "passed" : "FAILED") <code>\(SVGChart.escape($0.name))</code>: \(SVGChart.escape($0.detail))</li>"
                }.joined(separator: "\n") + "\n</ul>\n"
        }
        body += table
        body += "<h2>Per language</h2>\n"
        for metric in metrics {
            var series: [(String, [Double?])] = [
                ("candidate", languages.map { candidate.metrics[$0].flatMap(metric.value) })
            ]
            if let baseline {
                series.append(("baseline", languages.map { baseline.metrics[$0].flatMap(metric.value) }))
            }
            body +=
                "<figure>\n"
                + SVGChart.barChart(
                    title: metric.title + (metric.higherIsBetter ? " (higher is better)" : " (lower is better)"),
                    yLabel: metric.title, categories: languages, series: series,
                    maximum: metric.maximum) + "</figure>\n"
        }
        if let curve = candidate.retrieval {
            var series: [(String, [Double])] = [("candidate", curve.mean)]
            if let b = baseline?.retrieval { series.append(("baseline", b.mean)) }
            body +=
                "<h2>Retrieval by layer</h2>\n<figure>\n"
                + SVGChart.lineChart(
                    title: "Cross-lingual retrieval by layer (mean over languages)", xLabel: "layer",
                    yLabel: "accuracy",
                    x: curve.layers.map(Double.init), series: series, highlightX: Double(layer))
                + "</figure>\n"
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(SVGChart.escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
            th:first-child, td:first-child, td:nth-child(2) { text-align: left; }
            tr.group td { font-weight: bold; background: #f5f5f5; }
            .up { color: #1a7f37; } .down { color: #cf222e; }
            li.pass { color: #1a7f37; } li.fail { color: #cf222e; font-weight: bold; }
            figure { margin: 1em 0; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    private func list(_ languages: [String]) -> String {
        languages.isEmpty ? "none" : SVGChart.escape(languages.joined(separator: ", "))
    }

    private var table: String {
        var out =
            "<table>\n<tr><th>language</th><th>group</th>"
            + metrics.map { "<th>\(SVGChart.escape($0.title))</th>" }.joined() + "</tr>\n"
        let groupOf = { (lang: String) -> String in
            self.groups.task.contains(lang) ? "task" : self.groups.alignment.contains(lang) ? "aligned" : "held-out"
        }
        func cell(_ metric: Metric, _ langs: [String]) -> String {
            let (value, delta) = cells(metric, langs)
            guard !delta.isEmpty, let c = mean(metric, of: candidate, over: langs),
                let b = mean(metric, of: baseline, over: langs)
            else {
                return "<td>\(value)</td>"
            }
            let better = metric.higherIsBetter ? c > b : c < b
            let cls = c == b ? "" : (better ? " class=\"up\"" : " class=\"down\"")
            return "<td>\(value) <span\(cls)>(\(delta))</span></td>"
        }
        for lang in languages {
            out +=
                "<tr><td>\(SVGChart.escape(lang))</td><td>\(groupOf(lang))</td>"
                + metrics.map { cell($0, [lang]) }.joined() + "</tr>\n"
        }
        for (name, langs) in namedGroups where !langs.isEmpty {
            out +=
                "<tr class=\"group\"><td>mean</td><td>\(name)</td>" + metrics.map { cell($0, langs) }.joined()
                + "</tr>\n"
        }
        return out + "</table>\n"
    }
}
