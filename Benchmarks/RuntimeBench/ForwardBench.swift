import AdapterFormat
import Transformer

/// Forward-pass throughput of the runtime on the benchmark batch.
struct ForwardResult {
    /// Tokens in the batch (sequences × length).
    let tokens: Int
    /// The model with the LoRA applied unmerged (`AdapterStack`).
    let lora: Timing
    /// The base model alone.
    let base: Timing
    /// Largest |ours − PyTorch's| over all logits, relative to the largest |PyTorch logit|.
    let relativeError: Double
    /// Largest |ours − PyTorch's| over all logits.
    let absoluteError: Double
}

enum ForwardBench {
    /// Loads the model and the adapter, checks the logits, then times both passes.
    static func run(_ files: BenchmarkFiles, threads: Int, stopwatch: Stopwatch) throws -> ForwardResult {
        let model = try TransformerModel(directory: files.model)
        model.threadCount = threads
        let adapter = try AdapterReader.open(files.lora)
        let stack = try AdapterStack(adapters: [(source: adapter, weight: 1)], config: model.config)
        let batch = TokenBatch(try files.inputIDs())

        let ours = try model.forward(batch, adapters: stack).logits
        let theirs = try files.referenceLogits()
        guard ours.count == theirs.count else {
            throw FormatError(
                .invalidContent, "PyTorch's logits have \(theirs.count) values, ours \(ours.count)", path: files.logits)
        }
        let (absolute, relative) = errors(ours, theirs)

        let lora = try stopwatch.measure { _ = try model.forward(batch, adapters: stack) }
        let base = try stopwatch.measure { _ = try model.forward(batch) }
        return ForwardResult(
            tokens: batch.count * batch.length, lora: lora, base: base,
            relativeError: relative, absoluteError: absolute)
    }

    /// The largest absolute difference, and that difference over the largest |reference| value;
    /// infinite when one of ours is not finite (`max` would skip a NaN).
    static func errors(_ ours: [Float], _ theirs: [Float]) -> (absolute: Double, relative: Double) {
        var worst = 0.0
        var scale = 0.0
        for (a, b) in zip(ours, theirs) {
            guard a.isFinite else { return (.infinity, .infinity) }
            worst = max(worst, abs(Double(a) - Double(b)))
            scale = max(scale, abs(Double(b)))
        }
        return (worst, scale > 0 ? worst / scale : worst)
    }
}
