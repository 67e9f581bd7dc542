// adaptermerge-training-bench: release-mode throughput of one training step
// (task loss, LoRA r=8 on all seven projections, AdamW, dropout 0.1) on the
// benchmark model and batch written by Benchmarks/runtime_vs_torch.py, for
// the side-by-side table of Benchmarks/run_training.sh. See
// docs/BENCHMARKS.md, "Training".
//
//   adaptermerge-training-bench DIR [--threads N] [--steps N] [--warmup N] [--json-file PATH]

import AdapterFormat
import Dispatch
import Foundation
import Tensors
import Training
import Transformer

ProcessTuning.apply()

var directory = ""
var threads = 2
var steps = 10
var warmup = 2
var jsonFile: String?
var arguments = Array(CommandLine.arguments.dropFirst()).makeIterator()
while let arg = arguments.next() {
    switch arg {
    case "--threads": threads = Int(arguments.next() ?? "") ?? threads
    case "--steps": steps = Int(arguments.next() ?? "") ?? steps
    case "--warmup": warmup = Int(arguments.next() ?? "") ?? warmup
    case "--json-file": jsonFile = arguments.next()
    default: directory = arg
    }
}
guard !directory.isEmpty else {
    FileHandle.standardError.write(
        Data("usage: adaptermerge-training-bench DIR [--threads N] [--steps N] [--warmup N] [--json-file PATH]\n".utf8))
    exit(2)
}
BLAS.setThreadCount(threads)

do {
    let modelDirectory = FileSystem.join(directory, "model")
    let model = try TransformerModel(directory: modelDirectory)
    model.threadCount = threads
    let inputs = try FileSystem.readJSON(FileSystem.join(directory, "inputs.json"))
    let ids = (inputs["ids"]?.arrayValue ?? []).map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
    // Every token after the first is scored, as the PyTorch side's labels say.
    let examples = ids.map { Scoring.Example(ids: $0, promptLength: 1) }
    let tokens = ids.reduce(0) { $0 + $1.count }

    var recipe = TrainingRecipe(objective: .task)
    recipe.dropout = 0.1
    let trainer = Trainer(model: model, recipe: recipe)
    let clock = ContinuousClock()
    var samples: [Double] = []
    var losses: [Double] = []
    for i in 0..<(warmup + steps) {
        let elapsed = try clock.measure {
            losses.append(try trainer.step(task: examples, pairs: nil, learningRate: 5e-4))
        }
        if i >= warmup {
            samples.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
    }
    let sorted = samples.sorted()
    let (gflop, peak) = flopAccounting(
        model.config, sequences: ids.count, length: ids.first?.count ?? 0, rank: recipe.rank,
        threads: threads)
    let median = sorted[sorted.count / 2]
    let best = sorted[0]
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let peakMiB = Double(usage.ru_maxrss) / 1024
    print(
        "adaptermerge  threads=\(threads), BLAS core \(BLAS.coreName): training step (task, LoRA r=8 × 7, AdamW, dropout 0.1)"
    )
    print(
        "  model FLOPs \(String(format: "%.1f", gflop)) GFLOP per step: \(String(format: "%.0f", gflop / median)) GFLOP/s, \(String(format: "%.0f", 100 * gflop / median / peak))% of the \(String(format: "%.0f", peak)) GFLOP/s sgemm peak on \(threads) thread(s)"
    )
    print(
        "  \(Int(Double(tokens) / median)) tok/s median (best \(Int(Double(tokens) / best))), \(String(format: "%.1f", median * 1000)) ms per step of \(tokens) tokens; loss \(String(format: "%.4f", losses.first ?? .nan)) → \(String(format: "%.4f", losses.last ?? .nan)); peak RSS \(Int(peakMiB)) MiB"
    )
    if let jsonFile {
        let doc: JSONValue = [
            "threads": .int(threads), "tokens": .int(tokens), "median_s": .double(median), "best_s": .double(best),
            "samples": .array(samples.map(JSONValue.double)), "peak_rss_mib": .double(peakMiB),
            "losses": .array(losses.map(JSONValue.double)), "blas_core": .string(BLAS.coreName),
            "gflop_per_step": .double(gflop), "sgemm_peak_gflops": .double(peak),
        ]
        try Data((doc.prettyText() + "\n").utf8).write(to: URL(fileURLWithPath: jsonFile))
    }
} catch {
    FileHandle.standardError.write(Data("adaptermerge-training-bench: \(error)\n".utf8))
    exit(1)
}

/// The step's model FLOPs and this machine's sgemm peak on `threads` threads.
///
/// FLOPs count the matrix products of the forward pass (projections, LoRA,
/// attention, head) and of the backward pass for the activations (the same
/// products again, attention twice) plus the LoRA factors' gradients; the
/// frozen weights get no gradient. The peak is a large square sgemm, one per
/// thread, run concurrently as the training parts are.
func flopAccounting(_ c: ModelConfig, sequences: Int, length: Int, rank: Int, threads: Int) -> (
    gflop: Double, peak: Double
) {
    let tokens = Double(sequences * length)
    let h = Double(c.hiddenSize)
    let i = Double(c.intermediateSize)
    let q = Double(c.headCount * c.headDimension)
    let kv = Double(c.keyValueHeadCount * c.headDimension)
    let projections = h * (q + 2 * kv) + q * h + 2 * h * i + i * h
    let lora = Double(rank) * ((h + q) + 2 * (h + kv) + (q + h) + 2 * (h + i) + (i + h))
    let attention = 2 * Double(sequences * c.headCount) * Double(length * length) * Double(c.headDimension)
    let forward =
        2 * tokens * (projections + lora) * Double(c.layerCount) + 2 * attention * Double(c.layerCount)
        + 2 * tokens * h * Double(c.vocabSize)
    let backward =
        2 * tokens * (projections + 2 * lora) * Double(c.layerCount) + 4 * attention * Double(c.layerCount)
        + 2 * tokens * h * Double(c.vocabSize)
    let n = 1024
    let a = [Float](repeating: 0.001, count: n * n)
    let runs = 5
    let clock = ContinuousClock()
    let saved = BLAS.threadCount
    BLAS.setThreadCount(1)
    defer { BLAS.setThreadCount(saved) }
    let elapsed = clock.measure {
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var out = [Float](repeating: 0, count: n * n)
            a.withUnsafeBufferPointer { ap in
                out.withUnsafeMutableBufferPointer { cp in
                    for _ in 0..<runs {
                        BLAS.sgemm(
                            transposeA: false, transposeB: true, m: n, n: n, k: n, alpha: 1, a: ap.baseAddress!, lda: n,
                            b: ap.baseAddress!, ldb: n, beta: 0, c: cp.baseAddress!, ldc: n)
                    }
                }
            }
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return ((forward + backward) / 1e9, 2 * Double(n * n * n) * Double(runs * threads) / seconds / 1e9)
}
