import AdapterFormat
import AdapterMath

/// The human-readable `inspect` view.
enum InspectText {
    static func render(_ report: AdapterReport, modules showModules: Bool) -> String {
        let source = report.source
        let meta = source.metadata
        var out = ""
        func line(_ label: String, _ value: String) { out += Format.pad(label, 11) + value + "\n" }

        line(
            "adapter",
            "\(source.location)  (\(source.format == .lora ? ".lora v\(LoraContainer.formatVersion)" : source.format.displayName))"
        )
        line("kind", meta.kind?.rawValue ?? "unspecified")
        line("base model", meta.baseModel ?? "unspecified")
        if !meta.languages.isEmpty { line("languages", meta.languages.joined(separator: ", ")) }
        let targets = Set(source.modules.map(\.targetName)).sorted()
        let layerCount = Set(source.modules.compactMap(\.layer)).count
        line("modules", "\(source.modules.count) in \(layerCount) layers: \(targets.joined(separator: " "))")
        line("rank", summary(source.modules.map(\.rank).map(Double.init)))
        line("alpha", summary(source.modules.map(\.alpha)) + (source.useRSLoRA ? "  (rsLoRA: scaling = alpha/√r)" : ""))
        line("scaling", summary(source.modules.map(\.scaling)))
        line("dtype", Set(source.modules.map { $0.dtype.shortName }).sorted().joined(separator: ", "))
        line("parameters", Format.grouped(source.parameterCount))
        if source.format == .lora {
            let encodings = Dictionary(grouping: source.encodings.values, by: { $0 }).mapValues(\.count)
            let encodingText = encodings.keys.sorted { $0.rawValue < $1.rawValue }.map {
                "\($0.rawValue) \(encodings[$0]!)"
            }.joined(separator: ", ")
            line(
                "storage",
                "\(Format.bytes(source.storedBytes)) stored, \(Format.bytes(source.rawBytes)) raw, "
                    + "\(Format.fixed(report.compressionRatio, 2))× (tensors: \(encodingText))")
        } else {
            line("storage", "\(Format.bytes(source.storedBytes)) (safetensors, uncompressed)")
        }
        line("‖ΔW‖_F", Format.general(report.totalFrobenius) + "  (all modules)")
        if report.totalNonFinite > 0 { line("NON-FINITE", "\(report.totalNonFinite) NaN/Inf values in the factors") }
        if let lineage = meta.lineage { line("lineage", lineage.compactText) }
        if let recipe = meta.recipe { line("recipe", recipe.compactText) }

        let layers = report.layers
        if !layers.isEmpty {
            out += "\nper-layer ‖ΔW‖_F\n"
            let peak = layers.map(\.frobenius).filter(\.isFinite).max() ?? 0
            for l in layers {
                out +=
                    "  " + Format.padLeft(String(l.layer), 3) + " "
                    + Format.pad(Format.bar(peak > 0 ? l.frobenius / peak : 0, width: 40), 41)
                    + Format.general(l.frobenius) + "\n"
            }
        }
        if showModules {
            out +=
                "\n" + Format.pad("module", 44) + Format.padLeft("out×in", 12) + Format.padLeft("r", 4)
                + Format.padLeft("alpha", 7) + Format.padLeft("‖ΔW‖_F", 11) + Format.padLeft("‖ΔW‖₂", 11)
                + Format.padLeft("erank", 7) + "\n"
            for m in report.modules {
                out +=
                    Format.pad(m.info.path, 44) + Format.padLeft("\(m.info.outFeatures)×\(m.info.inFeatures)", 12)
                    + Format.padLeft(String(m.info.rank), 4) + Format.padLeft(Format.general(m.info.alpha, 4), 7)
                    + Format.padLeft(Format.general(m.stats.frobenius), 11)
                    + Format.padLeft(Format.general(m.stats.spectral), 11)
                    + Format.padLeft(Format.fixed(m.stats.effectiveRank, 2), 7)
                    + (m.stats.nonFinite > 0 ? "  \(m.stats.nonFinite) non-finite" : "") + "\n"
            }
        }
        return out
    }

    /// "8 (all)" or "4–8 (most: 8)".
    static func summary(_ values: [Double]) -> String {
        guard let lo = values.min(), let hi = values.max() else { return "-" }
        if lo == hi { return "\(Format.general(lo, 6)) (all)" }
        var counts: [Double: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        let common = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }!.key
        return "\(Format.general(lo, 6))–\(Format.general(hi, 6)) (most: \(Format.general(common, 6)))"
    }
}
