import AdapterFormat
import Tensors

/// Everything `inspect` shows about an adapter, computed module by module:
/// the statistics view of the library, which the CLI renders as text or prints as JSON.
public struct AdapterReport {
    public struct Module {
        public let info: LoraModuleInfo
        public let stats: DeltaStatistics
        public let encodingA: TensorEncoding?
        public let encodingB: TensorEncoding?
    }

    public struct Layer {
        public let layer: Int
        public let modules: Int
        public let frobenius: Double
    }

    public let source: any AdapterSource
    public let modules: [Module]

    public init(source: any AdapterSource) throws {
        self.source = source
        let encodings = source.encodings
        var modules: [Module] = []
        for info in source.modules {
            let stats: DeltaStatistics
            do {
                stats = try DeltaStatistics(module: info, factors: try source.factors(of: info))
            } catch let error as TensorError {
                throw FormatError(
                    .invalidContent, "cannot compute statistics: \(error.message)", path: source.location,
                    location: info.path)
            }
            modules.append(
                Module(info: info, stats: stats, encodingA: encodings[info.keyA], encodingB: encodings[info.keyB]))
        }
        self.modules = modules
    }

    /// `‖ΔW‖_F` of each layer: the root of the sum of its modules' squared norms.
    public var layers: [Layer] {
        var byLayer: [Int: (count: Int, sum: Double)] = [:]
        for m in modules {
            guard let layer = m.info.layer else { continue }
            byLayer[layer, default: (0, 0)].count += 1
            byLayer[layer, default: (0, 0)].sum += m.stats.frobenius * m.stats.frobenius
        }
        return byLayer.keys.sorted().map {
            Layer(layer: $0, modules: byLayer[$0]!.count, frobenius: byLayer[$0]!.sum.squareRoot())
        }
    }

    public var totalFrobenius: Double {
        modules.reduce(0) { $0 + $1.stats.frobenius * $1.stats.frobenius }.squareRoot()
    }
    public var totalNonFinite: Int { modules.reduce(0) { $0 + $1.stats.nonFinite } }

    public var compressionRatio: Double {
        source.storedBytes > 0 ? Double(source.rawBytes) / Double(source.storedBytes) : 1
    }
}

extension AdapterReport {
    /// The `--json` document.
    public var json: JSONValue {
        let meta = source.metadata
        var pairs: [(key: String, value: JSONValue)] = [
            ("path", .string(source.location)),
            ("format", .string(source.format.rawValue)),
            ("kind", meta.kind.map { .string($0.rawValue) } ?? .null),
            ("base_model", meta.baseModel.map(JSONValue.string) ?? .null),
            ("fingerprint", .string(ModuleFingerprint.of(source.modules))),
            ("use_rslora", .bool(source.useRSLoRA)),
            ("languages", .array(meta.languages.map { .string($0) })),
        ]
        if source.format == .lora { pairs.append(("format_version", .int(Int(LoraContainer.formatVersion)))) }
        if let lineage = meta.lineage { pairs.append(("lineage", lineage)) }
        if let recipe = meta.recipe { pairs.append(("recipe", recipe)) }
        pairs.append(
            (
                "totals",
                [
                    "modules": .int(modules.count),
                    "parameters": .int(source.parameterCount),
                    "raw_bytes": .int(source.rawBytes),
                    "stored_bytes": .int(source.storedBytes),
                    "compression_ratio": .double(compressionRatio),
                    "delta_fro": .double(totalFrobenius),
                    "nonfinite": .int(totalNonFinite),
                ]
            ))
        pairs.append(
            (
                "layers",
                .array(
                    layers.map {
                        ["layer": .int($0.layer), "modules": .int($0.modules), "delta_fro": .double($0.frobenius)]
                    })
            ))
        pairs.append(
            (
                "modules",
                .array(
                    modules.map { m in
                        var entry: [(key: String, value: JSONValue)] = [
                            ("name", .string(m.info.path)),
                            ("layer", m.info.layer.map { .int($0) } ?? .null),
                            ("in", .int(m.info.inFeatures)),
                            ("out", .int(m.info.outFeatures)),
                            ("rank", .int(m.info.rank)),
                            ("alpha", .number(m.info.alpha)),
                            ("scaling", .double(m.info.scaling)),
                            ("dtype", .string(m.info.dtype.shortName)),
                            ("delta_fro", .double(m.stats.frobenius)),
                            ("delta_spectral", .double(m.stats.spectral)),
                            ("effective_rank", .double(m.stats.effectiveRank)),
                            ("singular_values", .array(m.stats.singularValues.map { .double($0) })),
                            ("nonfinite", .int(m.stats.nonFinite)),
                        ]
                        if let a = m.encodingA, let b = m.encodingB {
                            entry.append(("encoding", ["A": .string(a.rawValue), "B": .string(b.rawValue)]))
                        }
                        return .object(entry)
                    })
            ))
        return .object(pairs)
    }
}
