#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import AdapterFormat

/// Command-line options of `adaptermerge-bench`.
///
/// The benchmark target deliberately depends only on the product's library
/// modules, so it parses its few options by hand.
struct Options {
    static let usage = """
        usage: adaptermerge-bench <adapter>... [options]

        Measures the .lora container codec on each adapter: compression ratio,
        encode/decode MB/s of the codec alone, write/read MB/s through
        LoraContainerWriter/LoraContainerReader (checksums included), and plain
        zstd of the whole safetensors file as the baseline. One core, release build.

        <adapter>            a PEFT adapter directory or a .safetensors file
        --encodings LIST     comma-separated of raw,zstd,planes,auto (default: all)
        --levels LIST        comma-separated zstd levels (default: 1,3,9)
        --baseline-levels L  levels for zstd of the whole file, or "none" (default: --levels)
        --no-components      skip the memcpy/XXH64/byte-plane component timings
        --min-time SECONDS   time spent per measurement, at least (default: 1)
        --repeats N          runs per measurement, at least (default: 3)
        --rounds N           repeat everything N times and pool the runs (default: 1)
        --scratch DIR        where the .lora files are written (default: $TMPDIR or /tmp)
        --json               print one JSON document instead of tables
        --json-file PATH     also write the JSON document to PATH
        -h, --help           this text

        MB/s are 10^6 bytes of raw (uncompressed) tensor data per second, fastest run
        (the least disturbed on a shared machine); the JSON also has the median.
        """

    var inputs: [String] = []
    var encodings: [EncodingChoice] = [.raw, .zstd, .planes, .auto]
    var levels: [Int32] = [1, 3, 9]
    /// `nil`: the same as ``levels``.
    var baselineLevels: [Int32]?
    var components = true
    var stopwatch = Stopwatch()
    /// How many times the whole set of measurements runs; runs are pooled.
    var rounds = 1
    var scratch: String = {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }()
    var json = false
    var jsonFile: String?

    /// A usage error, printed with the usage text.
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `arguments` (without the program name). Returns `nil` for `--help`.
    static func parse(_ arguments: [String]) throws -> Options? {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return v
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "-h", "--help":
                return nil
            case "--encodings":
                options.encodings = try list(try value(arg), flag: arg) { EncodingChoice(rawValue: $0) }
            case "--levels":
                options.levels = try list(try value(arg), flag: arg) { Int32($0) }
            case "--baseline-levels":
                let v = try value(arg)
                options.baselineLevels = v == "none" ? [] : try list(v, flag: arg) { Int32($0) }
            case "--no-components":
                options.components = false
            case "--min-time":
                guard let s = Double(try value(arg)), s >= 0 else {
                    throw UsageError(description: "--min-time needs seconds ≥ 0")
                }
                options.stopwatch.minimumSeconds = s
            case "--repeats":
                guard let n = Int(try value(arg)), n >= 1 else {
                    throw UsageError(description: "--repeats needs an integer ≥ 1")
                }
                options.stopwatch.minimumRepeats = n
            case "--rounds":
                guard let n = Int(try value(arg)), n >= 1 else {
                    throw UsageError(description: "--rounds needs an integer ≥ 1")
                }
                options.rounds = n
            case "--scratch":
                options.scratch = try value(arg)
            case "--json":
                options.json = true
            case "--json-file":
                options.jsonFile = try value(arg)
            default:
                guard !arg.hasPrefix("-") else { throw UsageError(description: "unknown option \(arg)") }
                options.inputs.append(arg)
            }
        }
        guard !options.inputs.isEmpty else { throw UsageError(description: "no adapter given") }
        return options
    }

    /// Parses a comma-separated list, refusing any item `parse` rejects.
    private static func list<T>(_ text: String, flag: String, _ parse: (String) -> T?) throws -> [T] {
        let items = text.split(separator: ",").map(String.init)
        let parsed = items.compactMap(parse)
        guard !items.isEmpty, parsed.count == items.count else {
            throw UsageError(description: "\(flag): cannot parse \"\(text)\"")
        }
        return parsed
    }
}
