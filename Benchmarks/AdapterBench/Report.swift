#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import AdapterFormat
import Tensors

/// Plain-text tables and the JSON document.
enum Report {
    // MARK: Text

    /// The tables for one adapter.
    static func text(_ r: InputReport) -> String {
        var out =
            "== \(r.label): \(r.tensorCount) tensors (\(r.dtypes.map(\.rawValue).joined(separator: ", "))), "
            + "\(mb(r.rawBytes)) MB of tensor data, safetensors file \(mb(r.fileSize)) MB\n\n"

        out += table(
            [
                "encoding", "level", "ratio", "file ratio", "encode MB/s", "write MB/s", "decode MB/s", "read MB/s",
                "stored as",
            ],
            r.rows.map { row in
                [
                    row.encoding.rawValue, row.level.map(String.init) ?? "-",
                    fixed(Double(r.rawBytes) / Double(row.storedBytes), 3),
                    fixed(Double(r.fileSize) / Double(row.loraFileSize), 3),
                    fixed(row.encode.bestMegabytesPerSecond(r.rawBytes), 0),
                    fixed(row.write.bestMegabytesPerSecond(r.rawBytes), 0),
                    fixed(row.decode.bestMegabytesPerSecond(r.rawBytes), 0),
                    fixed(row.read.bestMegabytesPerSecond(r.rawBytes), 0),
                    TensorEncoding.allCases.compactMap { e in row.storedAs[e].map { "\($0) \(e.rawValue)" } }.joined(
                        separator: ", "),
                ]
            })
        let stale = r.rows.filter { !$0.mirrorsWriter }
        if !stale.isEmpty {
            out +=
                "  WARNING: Codec.swift no longer mirrors the writer for "
                + stale.map { "\($0.encoding.rawValue) \($0.level.map(String.init) ?? "-")" }.joined(separator: ", ")
                + ": their encode/decode columns time a stale copy of the codec\n"
        }
        out += """
              MB/s        10^6 raw tensor bytes per second, fastest of the runs (JSON: median too)
              ratio       tensor bytes / stored tensor bytes
              file ratio  safetensors file / .lora file (headers and alignment included)
              encode      codec alone, in memory (no checksums, no I/O)
              write       LoraContainerWriter: codec + XXH64 of raw and stored bytes + spool + fsync + rename
              decode      codec alone, from the mapped .lora (no checksums)
              read        LoraContainerReader.tensor for every entry: XXH64 of stored and raw bytes + codec + Tensor

            """

        if !r.baselines.isEmpty {
            out += "\nbaseline: zstd of the whole safetensors file (one frame)\n"
            out += table(
                ["level", "ratio", "compress MB/s", "decompress MB/s"],
                r.baselines.map { b in
                    [
                        String(b.level), fixed(Double(r.fileSize) / Double(b.compressedBytes), 3),
                        fixed(b.compress.bestMegabytesPerSecond(r.fileSize), 0),
                        fixed(b.decompress.bestMegabytesPerSecond(r.fileSize), 0),
                    ]
                })
        }

        let planeRows = r.rows.filter { $0.encoding == .planes && !$0.planes.isEmpty }
        if !planeRows.isEmpty {
            out += "\nbyte planes (encoding planes): plane 0 is the exponent byte, the last holds the sign bit\n"
            out += table(
                ["level", "plane", "ratio", "stored as"],
                planeRows.flatMap { row in
                    row.planes.map { p in
                        [
                            row.level.map(String.init) ?? "-", String(p.index),
                            fixed(Double(p.rawBytes) / Double(p.storedBytes), 3),
                            "\(p.zstdCount) zstd, \(p.rawCount) raw",
                        ]
                    }
                })
        }

        if !r.components.isEmpty {
            out += "\ncomponents, over all tensor bytes\n"
            out += table(
                ["step", "MB/s"],
                r.components.map { [$0.name, fixed($0.timing.bestMegabytesPerSecond(r.rawBytes), 0)] })
        }
        return out
    }

    /// A left-aligned first column and right-aligned others, padded to fit.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, s in
                let pad = String(repeating: " ", count: widths[c] - s.count)
                return c == 0 || c == cells.count - 1 && header.last == "stored as" ? s + pad : pad + s
            }.joined(separator: "  ")
        }
        func trimmed(_ s: String) -> String { String(s.reversed().drop { $0 == " " }.reversed()) }
        var out = "  " + trimmed(line(header)) + "\n"
        for row in rows { out += "  " + trimmed(line(row)) + "\n" }
        return out
    }

    /// `bytes` in MB (10⁶ bytes), two decimals.
    static func mb(_ bytes: Int) -> String { fixed(Double(bytes) / 1e6, 2) }

    /// `x` with `digits` decimals.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : "inf" }
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.\(digits)f", $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: JSON

    /// One document for the whole run.
    static func json(_ reports: [InputReport], options: Options) -> JSONValue {
        [
            "tool": "adaptermerge-bench",
            "units":
                "MB/s = 1e6 bytes of raw tensor data per second (baseline: of the safetensors file); seconds per run",
            "min_repeats": .int(options.stopwatch.minimumRepeats),
            "min_seconds": .double(options.stopwatch.minimumSeconds),
            "rounds": .int(options.rounds),
            "inputs": .array(reports.map(json)),
        ]
    }

    static func json(_ r: InputReport) -> JSONValue {
        [
            "label": .string(r.label),
            "path": .string(r.path),
            "dtypes": .array(r.dtypes.map { .string($0.rawValue) }),
            "tensors": .int(r.tensorCount),
            "raw_bytes": .int(r.rawBytes),
            "file_bytes": .int(r.fileSize),
            "encodings": .array(
                r.rows.map { row in
                    [
                        "encoding": .string(row.encoding.rawValue),
                        "level": row.level.map { .int(Int($0)) } ?? .null,
                        "stored_bytes": .int(row.storedBytes),
                        "codec_mirrors_writer": .bool(row.mirrorsWriter),
                        "lora_file_bytes": .int(row.loraFileSize),
                        "ratio": .double(Double(r.rawBytes) / Double(row.storedBytes)),
                        "file_ratio": .double(Double(r.fileSize) / Double(row.loraFileSize)),
                        "stored_as": .object(
                            TensorEncoding.allCases.compactMap { e in row.storedAs[e].map { (e.rawValue, .int($0)) } }),
                        "planes": .array(
                            row.planes.map { p in
                                [
                                    "plane": .int(p.index), "raw_bytes": .int(p.rawBytes),
                                    "stored_bytes": .int(p.storedBytes),
                                    "zstd": .int(p.zstdCount), "raw": .int(p.rawCount),
                                ]
                            }),
                        "encode": json(row.encode, bytes: r.rawBytes),
                        "write": json(row.write, bytes: r.rawBytes),
                        "decode": json(row.decode, bytes: r.rawBytes),
                        "read": json(row.read, bytes: r.rawBytes),
                    ]
                }),
            "baseline_zstd_file": .array(
                r.baselines.map { b in
                    [
                        "level": .int(Int(b.level)),
                        "compressed_bytes": .int(b.compressedBytes),
                        "ratio": .double(Double(r.fileSize) / Double(b.compressedBytes)),
                        "compress": json(b.compress, bytes: r.fileSize),
                        "decompress": json(b.decompress, bytes: r.fileSize),
                    ]
                }),
            "components": .array(
                r.components.map { ["step": .string($0.name), "timing": json($0.timing, bytes: r.rawBytes)] }),
        ]
    }

    static func json(_ t: Timing, bytes: Int) -> JSONValue {
        [
            "median_mb_s": .double(t.megabytesPerSecond(bytes)),
            "best_mb_s": .double(t.bestMegabytesPerSecond(bytes)),
            "runs": .int(t.samples.count),
            "seconds": .array(t.samples.map { .double($0) }),
        ]
    }
}
