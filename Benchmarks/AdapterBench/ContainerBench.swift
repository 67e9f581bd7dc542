#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import AdapterFormat
import Tensors

/// The tensors of one adapter, loaded into memory once.
struct BenchInput {
    /// A short name for tables: the adapter directory's name.
    let label: String
    /// The safetensors file the tensors come from.
    let safetensorsPath: String
    /// Its size in bytes, header included.
    let fileSize: Int
    /// Tensors in file order.
    let tensors: [(name: String, tensor: Tensor)]

    /// Bytes of tensor data (what the ratios and MB/s are computed over).
    var rawBytes: Int { tensors.reduce(0) { $0 + $1.tensor.bytes.count } }

    /// The distinct dtypes, in first-seen order.
    var dtypes: [DType] {
        var seen: [DType] = []
        for (_, t) in tensors where !seen.contains(t.dtype) { seen.append(t.dtype) }
        return seen
    }

    /// Loads a PEFT directory's `adapter_model.safetensors`, or a `.safetensors` file.
    init(path: String) throws {
        var file = path
        if FileSystem.isDirectory(path) { file = FileSystem.join(path, "adapter_model.safetensors") }
        let (directory, name) = FileSystem.split(file)
        let parent = FileSystem.split(directory).name
        label = name == "adapter_model.safetensors" && !parent.isEmpty ? parent : name
        safetensorsPath = file
        let reader = try SafeTensorsFile(path: file)
        tensors = try reader.entries.map { ($0.name, try reader.tensor($0)) }
        fileSize = try MappedFile(path: file).count
    }
}

/// Results for one adapter.
struct InputReport {
    let label: String
    let path: String
    let dtypes: [DType]
    let tensorCount: Int
    let rawBytes: Int
    let fileSize: Int
    var rows: [EncodingRow] = []
    var baselines: [BaselineRow] = []
    var components: [ComponentRow] = []
}

/// One encoding at one level, measured through the codec alone and through the container.
struct EncodingRow {
    let encoding: EncodingChoice
    /// `nil` for `raw`, which ignores the level.
    let level: Int32?
    /// Sum of stored tensor bytes.
    let storedBytes: Int
    /// Size of the whole `.lora` file, header and alignment included.
    let loraFileSize: Int
    /// Whether ``Codec`` stored exactly as many bytes as the writer. When not,
    /// the codec no longer mirrors the container and the encode/decode
    /// columns time a stale copy; the write/read columns stay valid.
    let mirrorsWriter: Bool
    /// How many tensors ended up stored as raw, zstd and planes.
    let storedAs: [TensorEncoding: Int]
    /// Per byte plane, for tensors stored as planes.
    let planes: [PlaneStat]
    /// Codec alone, in memory, no checksums.
    let encode: Timing
    /// ``LoraContainerWriter``: codec, both XXH64s, spool, header, fsync, rename.
    let write: Timing
    /// Codec alone, from the mapped file, no checksums.
    let decode: Timing
    /// ``LoraContainerReader/tensor(_:)`` for every entry: both XXH64s, codec, `Tensor`.
    let read: Timing
}

/// How one byte plane (0 = the exponent byte) fared across the tensors stored as planes.
struct PlaneStat {
    let index: Int
    let rawBytes: Int
    let storedBytes: Int
    let zstdCount: Int
    let rawCount: Int
}

/// Plain zstd over the whole safetensors file: what a user would otherwise run.
struct BaselineRow {
    let level: Int32
    let compressedBytes: Int
    let compress: Timing
    let decompress: Timing
}

/// A building block of the codec, timed over all the adapter's tensor bytes.
struct ComponentRow {
    let name: String
    let timing: Timing
}

/// Runs every measurement of one adapter.
struct ContainerBench {
    let options: Options
    let log: (String) -> Void

    /// Runs the whole set of measurements ``Options/rounds`` times and pools
    /// the runs of each measurement, so that one burst of load from other
    /// processes cannot spoil a whole row.
    func run(_ input: BenchInput) throws -> InputReport {
        var report = InputReport(
            label: input.label, path: input.safetensorsPath, dtypes: input.dtypes,
            tensorCount: input.tensors.count, rawBytes: input.rawBytes, fileSize: input.fileSize)
        let scratchFile = FileSystem.join(options.scratch, "adaptermerge-bench-\(getpid()).lora")
        defer { _ = unlink(scratchFile) }
        let configurations = options.encodings.flatMap { encoding in
            (encoding == .raw ? [nil] : options.levels.map(Optional.some)).map { (encoding, $0) }
        }
        let baselineLevels = options.baselineLevels ?? options.levels
        for round in 1...options.rounds {
            let tag = options.rounds > 1 ? " (round \(round)/\(options.rounds))" : ""
            for (i, (encoding, level)) in configurations.enumerated() {
                log("\(input.label): \(encoding.rawValue)\(level.map { " level \($0)" } ?? "")\(tag)")
                let row = try measure(input, encoding: encoding, level: level, scratchFile: scratchFile)
                if round == 1 { report.rows.append(row) } else { report.rows[i] = report.rows[i].pooled(with: row) }
            }
            for (i, level) in baselineLevels.enumerated() {
                log("\(input.label): zstd level \(level) of the whole file\(tag)")
                let row = try baseline(input, level: level)
                if round == 1 {
                    report.baselines.append(row)
                } else {
                    report.baselines[i] = report.baselines[i].pooled(with: row)
                }
            }
            if options.components {
                log("\(input.label): components\(tag)")
                let rows = components(input)
                report.components = round == 1 ? rows : zip(report.components, rows).map { $0.pooled(with: $1) }
            }
        }
        return report
    }

    /// One encoding/level: codec encode, container write, codec decode, container read.
    func measure(_ input: BenchInput, encoding: EncodingChoice, level: Int32?, scratchFile: String) throws
        -> EncodingRow
    {
        let writeOptions = LoraWriteOptions(encoding: encoding, level: level ?? Zstd.defaultLevel)
        let stopwatch = options.stopwatch

        // Codec alone; one extra pass collects the sizes.
        var codecStored = 0
        var storedAs: [TensorEncoding: Int] = [:]
        var planeStats: [Int: (raw: Int, stored: Int, zstd: Int, rawCount: Int)] = [:]
        for (_, t) in input.tensors {
            let e = try t.bytes.withUnsafeBytes {
                try Codec.encode($0, dtype: t.dtype, choice: encoding, level: writeOptions.level)
            }
            codecStored += e.stored.count
            storedAs[e.encoding, default: 0] += 1
            for (k, p) in e.planes.enumerated() {
                var s = planeStats[k, default: (0, 0, 0, 0)]
                s.raw += t.bytes.count / t.dtype.byteSize
                s.stored += p.length
                if p.codec == .zstd { s.zstd += 1 } else { s.rawCount += 1 }
                planeStats[k] = s
            }
        }
        let encode = try stopwatch.measure {
            for (_, t) in input.tensors {
                let e = try t.bytes.withUnsafeBytes {
                    try Codec.encode($0, dtype: t.dtype, choice: encoding, level: writeOptions.level)
                }
                Sink.consume(e.stored)
            }
        }

        // The container writer, end to end (the file it leaves is read below).
        let write = try stopwatch.measure {
            let writer = try LoraContainerWriter(destination: scratchFile, overwrite: true, options: writeOptions)
            for (name, t) in input.tensors { try writer.append(name: name, tensor: t) }
            try writer.finish(metadata: ["note": "adaptermerge-bench"])
        }

        let reader = try LoraContainerReader(path: scratchFile)
        if reader.storedBytes != codecStored {
            log(
                "warning: the benchmark codec stores \(codecStored) bytes but the container stores \(reader.storedBytes) "
                    + "(\(encoding.rawValue), level \(writeOptions.level)): Codec.swift no longer mirrors the writer")
        }
        let ordered = reader.entries.sorted { $0.storedRange.lowerBound < $1.storedRange.lowerBound }
        let mapped = try MappedFile(path: scratchFile)
        let decode = try stopwatch.measure {
            for e in ordered {
                let range =
                    (reader.dataStart + e.storedRange.lowerBound)..<(reader.dataStart + e.storedRange.upperBound)
                Sink.consume(try Codec.decode(UnsafeRawBufferPointer(rebasing: mapped.bytes[range]), entry: e))
            }
        }
        let read = try stopwatch.measure {
            for e in ordered { Sink.consume(try reader.tensor(e).bytes) }
        }
        return EncodingRow(
            encoding: encoding, level: level, storedBytes: reader.storedBytes, loraFileSize: reader.fileSize,
            mirrorsWriter: reader.storedBytes == codecStored, storedAs: storedAs,
            planes: planeStats.keys.sorted().map {
                let s = planeStats[$0]!
                return PlaneStat(
                    index: $0, rawBytes: s.raw, storedBytes: s.stored, zstdCount: s.zstd, rawCount: s.rawCount)
            },
            encode: encode, write: write, decode: decode, read: read)
    }

    /// zstd over the whole safetensors file as one frame, at `level`.
    func baseline(_ input: BenchInput, level: Int32) throws -> BaselineRow {
        let file = try MappedFile(path: input.safetensorsPath)
        let compressed = try Zstd.compress(file.bytes, level: level)
        let compress = try options.stopwatch.measure { Sink.consume(try Zstd.compress(file.bytes, level: level)) }
        let decompress = try options.stopwatch.measure {
            Sink.consume(try compressed.withUnsafeBytes { try Zstd.decompress($0, rawCount: file.count) })
        }
        return BaselineRow(level: level, compressedBytes: compressed.count, compress: compress, decompress: decompress)
    }

    /// memcpy, XXH64 and the byte-plane transposition alone, over all tensor bytes.
    func components(_ input: BenchInput) -> [ComponentRow] {
        let stopwatch = options.stopwatch
        let split = input.tensors.map { t in
            t.tensor.bytes.withUnsafeBytes { BytePlanes.split($0, width: t.tensor.dtype.byteSize) }
        }
        return [
            ComponentRow(
                name: "memcpy",
                timing: stopwatch.measure {
                    for (_, t) in input.tensors { Sink.consume(t.bytes.withUnsafeBytes { Array($0) }) }
                }),
            ComponentRow(
                name: "XXH64",
                timing: stopwatch.measure {
                    for (_, t) in input.tensors { Sink.consume(XXH64.hash(t.bytes)) }
                }),
            ComponentRow(
                name: "BytePlanes.split",
                timing: stopwatch.measure {
                    for (_, t) in input.tensors {
                        Sink.consume(t.bytes.withUnsafeBytes { BytePlanes.split($0, width: t.dtype.byteSize) })
                    }
                }),
            ComponentRow(
                name: "BytePlanes.join",
                timing: stopwatch.measure {
                    for (i, (_, t)) in input.tensors.enumerated() {
                        Sink.consume(split[i].withUnsafeBytes { BytePlanes.join($0, width: t.dtype.byteSize) })
                    }
                }),
        ]
    }
}

extension EncodingRow {
    /// The same row with the runs of another round of the same measurement added.
    func pooled(with other: EncodingRow) -> EncodingRow {
        EncodingRow(
            encoding: encoding, level: level, storedBytes: storedBytes, loraFileSize: loraFileSize,
            mirrorsWriter: mirrorsWriter && other.mirrorsWriter, storedAs: storedAs, planes: planes,
            encode: encode.pooled(with: other.encode), write: write.pooled(with: other.write),
            decode: decode.pooled(with: other.decode), read: read.pooled(with: other.read))
    }
}

extension BaselineRow {
    /// The same row with the runs of another round added.
    func pooled(with other: BaselineRow) -> BaselineRow {
        BaselineRow(
            level: level, compressedBytes: compressedBytes, compress: compress.pooled(with: other.compress),
            decompress: decompress.pooled(with: other.decompress))
    }
}

extension ComponentRow {
    /// The same row with the runs of another round added.
    func pooled(with other: ComponentRow) -> ComponentRow {
        ComponentRow(name: name, timing: timing.pooled(with: other.timing))
    }
}

/// A benchmark that cannot go on.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
