// adaptermerge-runtime-bench: release-mode throughput of the model runtime
// (forward pass with an unmerged LoRA, tokenizer; or, with --model, a real
// checkpoint's pass returning all hidden states) on the files written by
// Benchmarks/runtime_vs_torch.py, for the side-by-side table of
// Benchmarks/run_runtime.sh. See docs/BENCHMARKS.md, "Model runtime" and
// "Real model".

import AdapterFormat
import Foundation
import Tensors
import Transformer

ProcessTuning.apply()
let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let files = BenchmarkFiles(directory: options.directory)
BLAS.setThreadCount(options.threads)
let stopwatch = Stopwatch(warmup: options.warmup, runs: options.runs)

do {
    var report = Report(threads: options.threads, cores: ProcessorCount.available)

    if let model = options.model {
        // The real-model mode: the checkpoint as released, logits and all hidden states.
        let (forward, config) = try RealModelBench.run(
            files, model: model, threads: options.threads, stopwatch: stopwatch)
        report.add(forward, config: config)
        if options.phases {
            let ids = try files.inputIDs()
            let phases = PhaseBench.run(
                config: config, sequences: ids.count, length: ids.first?.count ?? 0, rank: 0, parts: options.threads,
                stopwatch: stopwatch)
            report.add(
                phases, forward: forward.states, reference: PhaseBench.referenceRate(stopwatch: stopwatch),
                pass: "forward pass with all hidden states")
        }
    } else {
        let forward = try ForwardBench.run(files, threads: options.threads, stopwatch: stopwatch)
        report.add(forward)

        if options.phases {
            let config = try ModelConfig(directory: files.model)
            let ids = try files.inputIDs()
            let rank = try AdapterReader.open(files.lora).modules.first?.rank ?? 0
            let phases = PhaseBench.run(
                config: config, sequences: ids.count, length: ids.first?.count ?? 0, rank: rank,
                parts: options.threads, stopwatch: stopwatch)
            report.add(phases, forward: forward.lora, reference: PhaseBench.referenceRate(stopwatch: stopwatch))
        }
    }

    if options.tokenizer && options.model == nil {
        report.add(try TokenizerBench.run(files, runs: options.tokenizerRuns))
    }

    if let path = options.jsonFile {
        try Data((report.json.prettyText() + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }
    if report.failed { exit(1) }
} catch {
    printError("error: \(error)")
    exit(1)
}
