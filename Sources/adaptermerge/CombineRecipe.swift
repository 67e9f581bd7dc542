import AdapterFormat
import AdapterMath
import ArgumentParser
import Tensors

/// A merge kept in version control:
///
/// ```json
/// {
///   "inputs": [{"path": "task.lora", "weight": 1.0}, {"path": "align.lora", "weight": 0.5, "layers": "16-=0"}],
///   "method": "svd", "rank": 16, "density": 0.5, "seed": 0,
///   "dtype": "bf16", "output": "merged.lora"
/// }
/// ```
///
/// Relative paths are resolved against the recipe's directory. Command-line
/// `-o` overrides the recipe's output.
enum CombineRecipe {
    static let knownKeys: Set<String> = ["inputs", "method", "rank", "density", "seed", "dtype", "output"]

    static func load(_ path: String, defaults: Combine) throws -> Combine.Job {
        let json = try FileSystem.readJSON(path, limit: 1 << 20)
        func bad(_ message: String, _ key: String) -> FormatError {
            FormatError(.malformed, message, path: path, location: key)
        }
        guard case .object(let pairs) = json else { throw bad("a recipe is a JSON object", "") }
        if let unknown = pairs.first(where: { !knownKeys.contains($0.key) }) {
            throw bad("unknown key (expected one of \(knownKeys.sorted().joined(separator: ", ")))", unknown.key)
        }
        let base = FileSystem.split(path).directory
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : FileSystem.join(base, p) }

        guard let list = json["inputs"]?.arrayValue, !list.isEmpty else { throw bad("needs a non-empty list of inputs", "inputs") }
        var inputs: [String] = []
        var weights: [Double] = []
        var bands: [Int: LayerBands] = [:]
        for (i, item) in list.enumerated() {
            if let p = item.stringValue {
                inputs.append(resolve(p))
                weights.append(1)
            } else if let p = item["path"]?.stringValue {
                inputs.append(resolve(p))
                guard let w = (item["weight"] ?? .int(1)).doubleValue, w.isFinite else { throw bad("weight is not a number", "inputs[\(i)]") }
                weights.append(w)
                if let layers = item["layers"] {
                    guard let text = layers.stringValue else { throw bad("layers is a band list like \"16-=0\"", "inputs[\(i)].layers") }
                    do {
                        bands[i] = try LayerBands(parsing: text)
                    } catch let error as MergeError {
                        throw bad(error.message, "inputs[\(i)].layers")
                    }
                }
            } else {
                throw bad("each input is a path or {\"path\": ..., \"weight\": ...}", "inputs[\(i)]")
            }
        }
        var method = MergeMethod.concat
        if let m = json["method"] {
            guard let s = m.stringValue, let parsed = MergeMethod(rawValue: s) else {
                throw bad("method must be one of \(MergeMethod.allCases.map(\.rawValue).joined(separator: ", "))", "method")
            }
            method = parsed
        }
        var dtype: DType?
        if let d = json["dtype"], let s = d.stringValue, s != "keep" {
            guard let parsed = DType(name: s), [.f32, .f16, .bf16].contains(parsed) else { throw bad("dtype must be keep, f32, f16 or bf16", "dtype") }
            dtype = parsed
        }
        let rank = try json["rank"].map { v -> Int in
            guard let r = v.intValue else { throw bad("rank must be an integer", "rank") }
            return r
        }
        let density = try json["density"].map { v -> Double in
            guard let d = v.doubleValue else { throw bad("density must be a number", "density") }
            return d
        }
        let seed = try json["seed"].map { v -> UInt64 in
            guard let s = v.intValue, s >= 0 else { throw bad("seed must be a non-negative integer", "seed") }
            return UInt64(s)
        } ?? 0
        let output = defaults.output ?? json["output"]?.stringValue.map(resolve) ?? "merged.lora"
        return Combine.Job(inputs: inputs, weights: weights, method: method, rank: rank, density: density,
                           seed: seed, output: output, dtype: dtype, layerBands: bands)
    }
}
