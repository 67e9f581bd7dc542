import AdapterFormat
import Tensors

/// Folds LoRA adapters into a checkpoint's weights (`W + Σ wᵢ sᵢ Bᵢ Aᵢ`) and
/// writes a model directory transformers loads like the original.
public enum AdapterApplication {
    /// Files copied unchanged from the source model directory.
    static let companionFiles = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "vocab.json", "merges.txt",
    ]

    /// Writes `destination` (a new directory, or an existing one with `overwrite`)
    /// with every targeted projection merged, each tensor in its original dtype.
    /// Tensors are processed one at a time.
    public static func apply(
        model directory: String, adapters: [(source: any AdapterSource, weight: Double)],
        to destination: String, overwrite: Bool
    ) throws -> (merged: Int, tensors: Int) {
        // Refuse unsupported architectures and unwritable outputs before any work.
        if ModelPath.isGGUF(directory) {
            throw FormatError(
                .unsupported,
                "apply writes a Hugging Face checkpoint and needs one; a GGUF model takes the adapter at load time instead (llama.cpp's --lora)",
                path: directory)
        }
        _ = try ModelConfig(directory: directory)
        try FileSystem.checkOutput(destination, kind: .directory(marker: "config.json"), overwrite: overwrite)
        let files = try ModelWeights.shardFiles(directory)
        // Which weight tensors get which updates.
        var updates: [String: [(module: LoraModuleInfo, source: any AdapterSource, weight: Double)]] = [:]
        for (source, weight) in adapters {
            for m in source.modules {
                updates[m.path + ".weight", default: []].append((m, source, weight))
            }
        }
        var specs: [(name: String, dtype: DType, shape: [Int])] = []
        var owner: [String: SafeTensorsFile] = [:]
        for file in files {
            for e in file.entries {
                specs.append((e.name, e.dtype, e.shape))
                owner[e.name] = file
            }
        }
        for (name, list) in updates {
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw FormatError(
                    .invalidContent, "module \(String(name.dropLast(7))) is not in the model",
                    path: list[0].source.location)
            }
            let m = list[0].module
            guard spec.shape == [m.outFeatures, m.inFeatures] else {
                throw FormatError(
                    .invalidContent,
                    "module \(m.path) is \(m.outFeatures)×\(m.inFeatures), the model's weight is \(spec.shape)",
                    path: list[0].source.location)
            }
        }

        let out = try AtomicDirectoryWriter(destination: destination, overwrite: overwrite, marker: "config.json")

        for name in companionFiles {
            let source = FileSystem.join(directory, name)
            guard FileSystem.isRegularFile(source) else { continue }
            try AtomicFileWriter.write(try FileSystem.readFile(source), to: out.path(name), overwrite: true)
        }
        var merged = 0
        try SafeTensorsWriter.write(
            specs: specs, metadata: ["format": "pt"], to: out.path("model.safetensors"),
            overwrite: true
        ) { name in
            let tensor = try owner[name]!.tensor(name)
            guard let list = updates[name] else { return tensor }
            var w = try tensor.floats()
            let cols = tensor.shape[1]
            for (module, source, weight) in list {
                let (a, b) = try source.factors(of: module)
                let scale = Float(module.scaling * weight)
                let af = try a.floats()
                let bf = try b.floats()
                w.withUnsafeMutableBufferPointer { wp in
                    af.withUnsafeBufferPointer { ap in
                        bf.withUnsafeBufferPointer { bp in
                            BLAS.sgemm(
                                transposeA: false, transposeB: false, m: module.outFeatures, n: cols, k: module.rank,
                                alpha: scale, a: bp.baseAddress!, lda: module.rank, b: ap.baseAddress!, ldb: cols,
                                beta: 1, c: wp.baseAddress!, ldc: cols)
                        }
                    }
                }
            }
            merged += 1
            let result = try Tensor(floats: w, shape: tensor.shape, dtype: tensor.dtype == .f64 ? .f32 : tensor.dtype)
                .converted(to: tensor.dtype)
            let bad = result.nonFiniteCount
            guard bad == 0 || tensor.nonFiniteCount > 0 else {
                throw FormatError(
                    .invalidContent,
                    "merging makes \(bad) values of \(name) NaN/Inf (in \(tensor.dtype.rawValue)); nothing written",
                    path: destination, location: name)
            }
            return result
        }
        try out.commit()
        return (merged, specs.count)
    }
}
