import ArgumentParser
import AdapterFormat
import AdapterMath
import Tensors

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two adapters module by module: will adding them interfere?",
        discussion: """
            Per module: the cosine similarity of the two ΔW, their norm ratio
            ‖ΔW_b‖/‖ΔW_a‖, and the principal angles between their column spaces (where
            they write) and row spaces (where they read). All in factor space. Cosines
            near 0 and large angles mean the updates barely interact; a strongly
            negative cosine means adding them cancels.

            Examples:
              adaptermerge diff task.lora align.lora
              adaptermerge diff task.lora align.lora --json
            """
    )

    @Argument(help: "The first adapter (a).")
    var a: String

    @Argument(help: "The second adapter (b).")
    var b: String

    @OptionGroup var format: JSONOption
    @OptionGroup var base: BaseModelOption

    func run() throws {
        // Factor-space work is many small, tall-skinny LAPACK calls: BLAS threads only contend.
        BLAS.setThreadCount(1)
        let layout = try base.config()?.llamaCppLayout
        let diff = try AdapterDiff(try AdapterReader.open(a, layout: layout), try AdapterReader.open(b, layout: layout))
        let (comparisons, onlyA, onlyB) = (diff.modules, diff.onlyA, diff.onlyB)
        if format.json {
            print(DiffText.json(comparisons, onlyA: onlyA, onlyB: onlyB, a: a, b: b).prettyText())
        } else {
            print(DiffText.render(comparisons, onlyA: onlyA, onlyB: onlyB, a: a, b: b), terminator: "")
        }
    }
}

/// Text and JSON views of `diff`.
enum DiffText {
    static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    static func render(_ comparisons: [ModuleComparison], onlyA: [String], onlyB: [String], a: String, b: String)
        -> String
    {
        var out = "a = \(a)\nb = \(b)\n\n"
        out +=
            Format.pad("module", 40) + Format.padLeft("cos", 8) + Format.padLeft("‖b‖/‖a‖", 9)
            + Format.padLeft("col° min", 10) + Format.padLeft("col° mean", 10) + Format.padLeft("row° min", 10)
            + Format.padLeft("row° mean", 10) + "\n"
        for c in comparisons {
            out +=
                Format.pad(c.path, 40) + Format.padLeft(Format.fixed(c.cosine, 3), 8)
                + Format.padLeft(Format.general(c.normRatio, 3), 9)
                + Format.padLeft(Format.fixed(c.columnAngles.first ?? .nan, 1), 10)
                + Format.padLeft(Format.fixed(mean(c.columnAngles), 1), 10)
                + Format.padLeft(Format.fixed(c.rowAngles.first ?? .nan, 1), 10)
                + Format.padLeft(Format.fixed(mean(c.rowAngles), 1), 10) + "\n"
        }
        let layers = LayerComparison.of(comparisons)
        if !layers.isEmpty {
            out += "\nper layer (all modules together)\n"
            for l in layers {
                out +=
                    "  " + Format.padLeft(String(l.layer), 3) + "  cos " + Format.padLeft(Format.fixed(l.cosine, 3), 7)
                    + "  ‖b‖/‖a‖ " + Format.general(l.normRatio, 3) + "\n"
            }
        }
        if !onlyA.isEmpty {
            out +=
                "\nonly in a (\(onlyA.count)): " + onlyA.prefix(6).joined(separator: ", ")
                + (onlyA.count > 6 ? ", …" : "") + "\n"
        }
        if !onlyB.isEmpty {
            out +=
                "\nonly in b (\(onlyB.count)): " + onlyB.prefix(6).joined(separator: ", ")
                + (onlyB.count > 6 ? ", …" : "") + "\n"
        }
        return out
    }

    static func json(_ comparisons: [ModuleComparison], onlyA: [String], onlyB: [String], a: String, b: String)
        -> JSONValue
    {
        [
            "a": .string(a), "b": .string(b),
            "modules": .array(
                comparisons.map { c in
                    [
                        "name": .string(c.path), "layer": c.layer.map { .int($0) } ?? .null,
                        "cosine": .double(c.cosine), "norm_ratio": .double(c.normRatio),
                        "delta_fro_a": .double(c.normA), "delta_fro_b": .double(c.normB),
                        "column_angles_deg": .array(c.columnAngles.map { .double($0) }),
                        "row_angles_deg": .array(c.rowAngles.map { .double($0) }),
                    ]
                }),
            "layers": .array(
                LayerComparison.of(comparisons).map {
                    ["layer": .int($0.layer), "cosine": .double($0.cosine), "norm_ratio": .double($0.normRatio)]
                }),
            "only_a": .array(onlyA.map { .string($0) }),
            "only_b": .array(onlyB.map { .string($0) }),
        ]
    }
}
