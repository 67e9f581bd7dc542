import Foundation

/// Small, self-contained SVG charts (no scripts, no external resources): they
/// render the same in a browser, an image viewer or a Markdown preview.
public enum SVGChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A line chart; the first series is drawn thick. The y axis is [0, 1]
    /// when every value lies there (accuracies, F1), else the values' range.
    /// `spread[k]`, when given for series k, shades ± that much around it
    /// (e.g. one standard deviation over seeds).
    public static func lineChart(
        title: String, xLabel: String, yLabel: String, x: [Double], series: [(String, [Double])],
        highlightX: Double? = nil, spread: [[Double]] = []
    ) -> String {
        let width = 640.0
        let height = 400.0
        let left = 60.0
        let right = 150.0
        let top = 40.0
        let bottom = 50.0
        let plotW = width - left - right
        let plotH = height - top - bottom
        let xMin = x.min() ?? 0
        let xMax = max(x.max() ?? 1, xMin + 1)
        let values = series.flatMap(\.1).filter(\.isFinite)
        let unit = values.allSatisfy { (0...1).contains($0) }
        let yLow = unit ? 0 : (values.min() ?? 0)
        let yHigh = unit ? 1 : max(values.max() ?? 1, yLow + 1e-9)
        func px(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * plotW }
        func py(_ v: Double) -> Double { top + (1 - min(max((v - yLow) / (yHigh - yLow), 0), 1)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2 - right / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        for i in 0...5 {
            let v = yLow + (yHigh - yLow) * Double(i) / 5
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(py(v)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(v)))\" stroke=\"#e5e5e5\"/>\n"
            svg +=
                "<text x=\"\(f(left - 8))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(String(format: unit ? "%.1f" : "%.3g", v))</text>\n"
        }
        // Ticks in Double: integer layers, or fractional weights alike.
        let integral = x.allSatisfy { $0 == $0.rounded() }
        let step = integral ? max(1, ((xMax - xMin) / 10).rounded(.up)) : (xMax - xMin) / 4
        for v in stride(from: xMin, through: xMax + step * 1e-9, by: step) {
            let label = integral ? String(format: "%.0f", v) : String(format: "%.2f", v)
            svg += "<text x=\"\(f(px(v)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        svg +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg +=
            "<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">\(escape(yLabel))</text>\n"
        if let hx = highlightX {
            svg +=
                "<line x1=\"\(f(px(hx)))\" y1=\"\(f(top))\" x2=\"\(f(px(hx)))\" y2=\"\(f(top + plotH))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
        }
        for (k, (name, ys)) in series.enumerated() {
            let color = palette[k % palette.count]
            if k < spread.count, spread[k].count == ys.count {
                let band = zip(x, zip(ys, spread[k])).filter { $0.1.0.isFinite && $0.1.1.isFinite }
                let upper = band.map { "\(f(px($0.0))),\(f(py($0.1.0 + $0.1.1)))" }
                let lower = band.reversed().map { "\(f(px($0.0))),\(f(py($0.1.0 - $0.1.1)))" }
                svg +=
                    "<polygon fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"none\" points=\"\((upper + lower).joined(separator: " "))\"/>\n"
            }
            let points = zip(x, ys).filter { $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(
                separator: " ")
            svg +=
                "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(k == 0 ? 3 : 1.5)\" points=\"\(points)\"/>\n"
            for (xv, yv) in zip(x, ys) where yv.isFinite {
                svg += "<circle cx=\"\(f(px(xv)))\" cy=\"\(f(py(yv)))\" r=\"\(k == 0 ? 3.5 : 2)\" fill=\"\(color)\"/>\n"
            }
            let ly = top + 10 + Double(k) * 18
            svg +=
                "<line x1=\"\(f(left + plotW + 15))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 35))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"\(k == 0 ? 3 : 1.5)\"/>\n"
            svg += "<text x=\"\(f(left + plotW + 40))\" y=\"\(f(ly + 4))\">\(escape(name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Grouped bars: one group per category, one bar per series (missing values
    /// are left out). Values are scaled to `maximum` (default: the largest value).
    public static func barChart(
        title: String, yLabel: String, categories: [String], series: [(String, [Double?])],
        maximum: Double? = nil
    ) -> String {
        let width = 640.0
        let height = 320.0
        let left = 60.0
        let right = 150.0
        let top = 40.0
        let bottom = 50.0
        let plotW = width - left - right
        let plotH = height - top - bottom
        let values = series.flatMap { $0.1.compactMap { $0 } }.filter(\.isFinite)
        let top1 = max(maximum ?? (values.max() ?? 1), 1e-9)
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func py(_ v: Double) -> Double { top + (1 - min(max(v / top1, 0), 1)) * plotH }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2 - right / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        for i in 0...4 {
            let v = top1 * Double(i) / 4
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(py(v)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(v)))\" stroke=\"#e5e5e5\"/>\n"
            svg +=
                "<text x=\"\(f(left - 8))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(String(format: top1 >= 10 ? "%.0f" : "%.2f", v))</text>\n"
        }
        let groupW = plotW / Double(max(categories.count, 1))
        let barW = groupW * 0.8 / Double(max(series.count, 1))
        for (c, name) in categories.enumerated() {
            let x0 = left + Double(c) * groupW + groupW * 0.1
            for (k, (_, ys)) in series.enumerated() {
                guard ys.indices.contains(c), let v = ys[c], v.isFinite else { continue }
                let color = palette[k % palette.count]
                svg +=
                    "<rect x=\"\(f(x0 + Double(k) * barW))\" y=\"\(f(py(v)))\" width=\"\(f(barW * 0.92))\" height=\"\(f(top + plotH - py(v)))\" fill=\"\(color)\"><title>\(escape(name)) \(escape(series[k].0)): \(String(format: "%.3f", v))</title></rect>\n"
            }
            svg +=
                "<text x=\"\(f(x0 + groupW * 0.4))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(escape(name))</text>\n"
        }
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        svg +=
            "<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">\(escape(yLabel))</text>\n"
        for (k, (name, _)) in series.enumerated() {
            let ly = top + 10 + Double(k) * 18
            let color = palette[k % palette.count]
            svg +=
                "<rect x=\"\(f(left + plotW + 15))\" y=\"\(f(ly - 6))\" width=\"18\" height=\"12\" fill=\"\(color)\"/>\n"
            svg += "<text x=\"\(f(left + plotW + 40))\" y=\"\(f(ly + 4))\">\(escape(name))</text>\n"
        }
        return svg + "</svg>\n"
    }
}
