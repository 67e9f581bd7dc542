import Foundation

/// Command-line options of `adaptermerge-runtime-bench`.
///
/// The benchmark target depends only on the product's library modules, so it
/// parses its few options by hand.
struct Options {
    static let usage = """
        usage: adaptermerge-runtime-bench <dir> [options]

        Measures the model runtime on the files that Benchmarks/runtime_vs_torch.py
        writes into <dir>: forward tokens/s of model/ with lora/ applied unmerged
        (and without it) on the 16 × 64 ids of inputs.json, checking the logits
        against PyTorch's (logits.safetensors); and the tokenizer's MB/s on
        corpus.txt, line by line on one thread, checking the ids against the
        tokenizers library's (corpus_ids.json). Release build only.

        --threads N        threads of the forward pass (default: 2): the batch is
                           split into N parts, each run with one BLAS thread
        --runs N           timed forward passes per measurement (default: 10)
        --warmup N         untimed passes before them (default: 3)
        --tokenizer-runs N timed passes over the corpus (default: 3)
        --phases           also time the BLAS work of one forward pass by phase
                           (projections, LoRA, attention, head) on the same shapes
        --no-tokenizer     skip the tokenizer measurement
        --model FILE       the real-model mode: FILE (a GGUF file or a Hugging Face
                           directory) as released, no adapter, on the ids and the
                           PyTorch logits and hidden states that
                           `runtime_vs_torch.py <dir> --model FILE` wrote; times its
                           load and the pass with all hidden states and without
                           them, checks both outputs; no tokenizer measurement
        --json-file PATH   write the results as JSON to PATH
        -h, --help         this text
        """

    var directory = ""
    var threads = 2
    var runs = 10
    var warmup = 3
    var tokenizerRuns = 3
    var phases = false
    var tokenizer = true
    var jsonFile: String?
    var model: String?

    /// Parses `arguments` (without the program name); prints the usage and exits on `--help` or an error.
    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let v = rest.popFirst() else { fail("\(flag) needs a value") }
            return v
        }
        func count(_ flag: String, minimum: Int) -> Int {
            let text = value(flag)
            guard let n = Int(text), n >= minimum else { fail("\(flag) must be an integer ≥ \(minimum), not \(text)") }
            return n
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "-h", "--help":
                print(usage)
                exit(0)
            case "--threads": options.threads = count(arg, minimum: 1)
            case "--runs": options.runs = count(arg, minimum: 1)
            case "--warmup": options.warmup = count(arg, minimum: 0)
            case "--tokenizer-runs": options.tokenizerRuns = count(arg, minimum: 1)
            case "--phases": options.phases = true
            case "--no-tokenizer": options.tokenizer = false
            case "--json-file": options.jsonFile = value(arg)
            case "--model": options.model = value(arg)
            default:
                guard !arg.hasPrefix("-"), options.directory.isEmpty else { fail("unexpected argument \(arg)") }
                options.directory = arg
            }
        }
        guard !options.directory.isEmpty else { fail("the benchmark directory is missing") }
        return options
    }

    /// Prints `message` and the usage to standard error and exits with status 2.
    static func fail(_ message: String) -> Never {
        printError("error: \(message)\n\n\(usage)")
        exit(2)
    }
}

/// Writes a line to standard error, so that standard output stays the results.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
