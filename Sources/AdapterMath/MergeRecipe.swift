import AdapterFormat
import Tensors

/// A merge kept in version control, as `combine --recipe` reads it:
///
/// ```json
/// {
///   "inputs": [{"path": "task.lora", "weight": 1.0}, {"path": "align.lora", "weight": 0.5, "layers": "16-=0"}],
///   "method": "svd", "rank": 16, "density": 0.5, "seed": 0,
///   "dtype": "bf16", "output": "merged.lora"
/// }
/// ```
///
/// The format is adaptermerge's own, so it is read strictly: unknown keys
/// (at the top or in an input) and values of the wrong type are refused by
/// key, so that a typo such as `"weigth"` cannot leave a weight at 1.
/// Relative paths are resolved against the recipe's directory.
public struct MergeRecipe: Sendable, Equatable {
    public var inputs: [String]
    public var weights: [Double]
    public var method: MergeMethod
    public var rank: Int?
    public var density: Double?
    public var seed: UInt64
    /// `nil`: keep the inputs' dtype.
    public var dtype: DType?
    public var output: String?
    /// Per input (0-based), factors on its weight per band of layers.
    public var layerBands: [Int: LayerBands]

    public static let topLevelKeys: Set<String> = ["inputs", "method", "rank", "density", "seed", "dtype", "output"]
    public static let inputKeys: Set<String> = ["path", "weight", "layers"]

    /// Reads the recipe at `path` (at most 1 MiB).
    public init(path: String) throws {
        try self.init(json: try FileSystem.readJSON(path, limit: 1 << 20), path: path)
    }

    /// Reads a recipe document; `path` names it in errors and anchors relative paths.
    public init(json: JSONValue, path: String) throws {
        let top = try JSONFields(json, path: path, what: "a recipe")
        try top.rejectUnknownKeys(Self.topLevelKeys)
        let base = FileSystem.split(path).directory
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : FileSystem.join(base, p) }

        guard let list = top["inputs"]?.arrayValue, !list.isEmpty else {
            throw top.error("inputs", "needs a non-empty list of inputs")
        }
        inputs = []
        weights = []
        layerBands = [:]
        for (i, item) in list.enumerated() {
            if let p = item.stringValue {
                guard !p.isEmpty else { throw top.error("inputs[\(i)]", "the path is empty") }
                inputs.append(resolve(p))
                weights.append(1)
                continue
            }
            let input = try JSONFields(
                item, path: path, location: top.place("inputs[\(i)]"),
                what: "each input (a path or {\"path\": ..., \"weight\": ...})")
            try input.rejectUnknownKeys(Self.inputKeys)
            guard let p = try input.string("path"), !p.isEmpty else {
                throw input.error("path", "needs a non-empty path")
            }
            inputs.append(resolve(p))
            weights.append(try input.double("weight") ?? 1)
            if let text = try input.string("layers") {
                do {
                    layerBands[i] = try LayerBands(parsing: text)
                } catch let error as FormatError {
                    throw input.error("layers", error.message)
                }
            }
        }
        if let m = try top.string("method") {
            guard let parsed = MergeMethod(rawValue: m) else {
                throw top.error(
                    "method", "must be one of \(MergeMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            method = parsed
        } else {
            method = .concat
        }
        dtype = nil
        if let d = try top.string("dtype"), d != "keep" {
            guard let parsed = DType(name: d), [.f32, .f16, .bf16].contains(parsed) else {
                throw top.error("dtype", "must be keep, f32, f16 or bf16")
            }
            dtype = parsed
        }
        rank = try top.int("rank", in: 1...Int.max)
        density = try top.double("density")
        if let density, !(density > 0 && density <= 1) {
            throw top.error("density", "must be in (0, 1], not \(density)")
        }
        seed = UInt64(try top.int("seed", in: 0...Int.max) ?? 0)
        let named = try top.string("output")
        if named == "" { throw top.error("output", "is empty") }
        output = named.map(resolve)
    }
}
