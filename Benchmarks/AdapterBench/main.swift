// adaptermerge-bench: release-mode benchmarks of the `.lora` container.
//
//     swift build -c release --product adaptermerge-bench
//     .build/release/adaptermerge-bench <peft-dir>... [--levels 1,3,9] [--json]
//
// Benchmarks/run.sh builds it, generates Llama-3-8B-shaped adapters and runs
// it next to the Python comparisons; docs/BENCHMARKS.md records the results.
// Timings never go into the test suite.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import AdapterFormat
import Tensors

/// Writes text to stderr, unbuffered, so stdout stays a clean table or JSON.
func standardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        offset += n
    }
}

/// One progress line on stderr.
func progress(_ line: String) {
    standardError("[bench] \(line)\n")
}

ProcessTuning.apply()
let options: Options
do {
    guard let parsed = try Options.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(Options.usage)
        exit(0)
    }
    options = parsed
} catch {
    standardError("adaptermerge-bench: \(error)\n\n\(Options.usage)\n")
    exit(2)
}

do {
    let bench = ContainerBench(options: options, log: progress)
    var reports: [InputReport] = []
    for path in options.inputs {
        progress("loading \(path)")
        reports.append(try bench.run(try BenchInput(path: path)))
        if !options.json {
            print(Report.text(reports[reports.count - 1]))
        }
    }
    let document = Report.json(reports, options: options)
    if options.json { print(document.prettyText()) }
    if let path = options.jsonFile {
        let bytes = Array((document.prettyText() + "\n").utf8)
        guard let f = fopen(path, "w"), fwrite(bytes, 1, bytes.count, f) == bytes.count, fclose(f) == 0 else {
            throw BenchError("cannot write \(path)")
        }
    }
} catch {
    standardError("adaptermerge-bench: \(error)\n")
    exit(1)
}
