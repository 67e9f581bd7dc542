import AdapterFormat
import AdapterMath

/// The certificate `combine` prints: a table, or JSON with `--json`.
enum CertificateText {
    /// - Parameter title: the first line (default: what `combine` merged).
    static func render(_ report: MergeReport, inputs: [any AdapterSource], output: String, title: String? = nil)
        -> String
    {
        var out =
            (title
                ?? "merged \(inputs.count) adapter\(inputs.count == 1 ? "" : "s") with \(report.method.rawValue)")
            + " → \(output)\n"
        for (i, input) in inputs.enumerated() {
            out += "  [\(i + 1)] \(Format.general(report.weights[i], 6)) × \(input.location)"
            out += "  (\(input.metadata.kind?.rawValue ?? "unspecified"), \(input.modules.count) modules)\n"
        }
        let showEnergy = report.modules.contains { $0.retainedEnergy != nil }
        let showKept = report.modules.contains { $0.keptRank != $0.outputRank }
        out +=
            "\n" + Format.pad("module", 40) + Format.padLeft("out×in", 12) + Format.padLeft("ranks in", 11)
            + (showKept ? Format.padLeft("kept", 6) : "") + Format.padLeft("r out", 7)
            + Format.padLeft("rel. error", 12)
            + (showEnergy ? Format.padLeft("energy", 9) : "") + "\n"
        for m in report.modules {
            let ranks = m.inputRanks.map { $0.map(String.init) ?? "-" }.joined(separator: "+")
            out +=
                Format.pad(m.path, 40) + Format.padLeft("\(m.outFeatures)×\(m.inFeatures)", 12)
                + Format.padLeft(ranks, 11) + (showKept ? Format.padLeft(String(m.keptRank), 6) : "")
                + Format.padLeft(String(m.outputRank), 7) + Format.padLeft(scientific(m.relativeError), 12)
                + (showEnergy ? Format.padLeft(m.retainedEnergy.map { Format.fixed($0, 4) } ?? "", 9) : "") + "\n"
        }
        out +=
            "\ntotal relative error \(scientific(report.totalRelativeError)), worst module \(scientific(report.maximumRelativeError))"
        out += " (‖B'A' − Σ wᵢ ΔWᵢ‖_F / ‖Σ wᵢ ΔWᵢ‖_F of the stored factors)\n"
        let partial = report.partialModules
        if !partial.isEmpty {
            out +=
                "\(partial.count) module\(partial.count == 1 ? "" : "s") targeted by only some inputs (kept): "
                + partial.prefix(6).map(\.path).joined(separator: ", ") + (partial.count > 6 ? ", …" : "") + "\n"
        }
        return out
    }

    static func scientific(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : "inf" }
        return x == 0 ? "0" : Format.general(x, 3).replacingOccurrences(of: "e-0", with: "e-")
    }

    static func json(_ report: MergeReport, inputs: [any AdapterSource], output: String) -> JSONValue {
        [
            "output": .string(output),
            "method": .string(report.method.rawValue),
            "inputs": .array(
                inputs.indices.map { i in
                    [
                        "path": .string(inputs[i].location), "weight": .number(report.weights[i]),
                        "kind": inputs[i].metadata.kind.map { .string($0.rawValue) } ?? .null,
                        "modules": .int(inputs[i].modules.count),
                    ]
                }),
            "modules": .array(
                report.modules.map { m in
                    var fields: JSONValue = [
                        "name": .string(m.path), "layer": m.layer.map { .int($0) } ?? .null,
                        "out": .int(m.outFeatures), "in": .int(m.inFeatures), "method": .string(m.method.rawValue),
                        "ranks_in": .array(m.inputRanks.map { $0.map { .int($0) } ?? .null }),
                        "rank_out": .int(m.outputRank),
                        "relative_error": .double(m.relativeError),
                        "target_fro": .double(m.targetNorm),
                        "retained_energy": m.retainedEnergy.map { .double($0) } ?? .null,
                        "partial": .bool(m.isPartial),
                    ]
                    // Only where padding raised the rank, so combine's certificate keeps its shape.
                    if m.keptRank != m.outputRank, case .object(let pairs) = fields {
                        fields = .object(pairs + [("rank_kept", .int(m.keptRank))])
                    }
                    return fields
                }),
            "partial_modules": .array(report.partialModules.map { .string($0.path) }),
            "totals": [
                "modules": .int(report.modules.count),
                "relative_error": .double(report.totalRelativeError),
                "max_relative_error": .double(report.maximumRelativeError),
            ],
        ]
    }
}
