import AdapterFormat
import Foundation
import Transformer

/// The real-model mode (`--model FILE`): a checkpoint as released, with no
/// adapter, timed on the ids of real text that `runtime_vs_torch.py --model
/// FILE` wrote, the pass returning the logits and every hidden state (what
/// the retrieval analysis reads), checked against transformers' for the same
/// file.
struct RealForwardResult {
    /// Tokens in the batch (sequences × length).
    let tokens: Int
    /// Seconds to load the model (`TransformerModel(path:)`: parse, map, widen).
    let loadSeconds: Double
    /// Whether the projection weights were widened to f32 at load (``WeightResidency/auto``).
    let widened: Bool
    /// The pass with `hiddenStates: true`: logits and all hidden states.
    let states: Timing
    /// The pass without hidden states: logits only.
    let logitsOnly: Timing
    /// Largest |ours − PyTorch's| over all logits, and that over the largest |PyTorch logit|.
    let absoluteError: Double
    let relativeError: Double
    /// Hidden states returned (layers + 1).
    let stateCount: Int
    /// Over the hidden states, the worst largest |Δ| relative to that state's largest |PyTorch value|, and where.
    let stateRelativeError: Double
    let worstState: Int
    /// The retrieval analysis's work: `Retrieval.pooledStates` over texts of mixed lengths.
    let analysis: AnalysisResult
}

/// `Retrieval.pooledStates` (what `analyze` runs) on the real texts of
/// `analysis.json`, checked against PyTorch's pooled states.
struct AnalysisResult {
    let texts: Int
    let batchSize: Int
    /// Real tokens over all texts (no padding): the work the rate counts.
    let tokens: Int
    let timing: Timing
    /// Over the layers, the worst largest |Δ| relative to that layer's largest |PyTorch value|, and where.
    let relativeError: Double
    let worstLayer: Int
}

enum RealModelBench {
    /// Loads the model (timed), checks the logits and hidden states against
    /// PyTorch's, then times the pass with and without hidden states.
    static func run(_ files: BenchmarkFiles, model path: String, threads: Int, stopwatch: Stopwatch) throws -> (
        RealForwardResult, ModelConfig
    ) {
        let inputs = try FileSystem.readJSON(files.inputs)
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if let madeFor = inputs["model"]?.stringValue, madeFor != absolute {
            throw FormatError(
                .invalidContent, "the inputs were made for \(madeFor), not \(absolute)", path: files.inputs)
        }
        let clock = ContinuousClock()
        var loaded: TransformerModel?
        let load = try clock.measure { loaded = try TransformerModel(path: path) }
        let model = loaded!
        model.threadCount = threads
        let batch = TokenBatch(try files.inputIDs())

        let ours = try model.forward(batch, hiddenStates: true)
        let theirs = try files.referenceLogits()
        guard ours.logits.count == theirs.count else {
            throw FormatError(
                .invalidContent, "PyTorch's logits have \(theirs.count) values, ours \(ours.logits.count)",
                path: files.logits)
        }
        let (absoluteError, relativeError) = ForwardBench.errors(ours.logits, theirs)
        let states = try files.referenceHiddenStates()
        let size = batch.count * batch.length * model.config.hiddenSize
        guard states.count == ours.hiddenStates.count * size, ours.hiddenStates.allSatisfy({ $0.count == size }) else {
            throw FormatError(
                .invalidContent,
                "PyTorch's hidden states have \(states.count) values, ours \(ours.hiddenStates.count) × \(size)",
                path: files.logits)
        }
        let worst = worstRelativeError(ours.hiddenStates, states)

        let withStates = try stopwatch.measure { _ = try model.forward(batch, hiddenStates: true) }
        let logitsOnly = try stopwatch.measure { _ = try model.forward(batch) }
        let analysis = try analyze(files, model: model, stopwatch: stopwatch)
        let result = RealForwardResult(
            tokens: batch.count * batch.length, loadSeconds: load.seconds, widened: model.weights.isWidened,
            states: withStates, logitsOnly: logitsOnly, absoluteError: absoluteError, relativeError: relativeError,
            stateCount: ours.hiddenStates.count, stateRelativeError: worst.error, worstState: worst.index,
            analysis: analysis)
        return (result, model.config)
    }

    /// Checks, then times, the pooled states of the retrieval workload, with the
    /// library call `analyze` makes (no adapter).
    static func analyze(_ files: BenchmarkFiles, model: TransformerModel, stopwatch: Stopwatch) throws
        -> AnalysisResult
    {
        let (texts, batchSize) = try files.analysisIDs()
        let run = { try Retrieval.pooledStates(texts, model: model, adapters: .empty, batchSize: batchSize) }
        let ours = try run()
        let theirs = try files.referencePooledStates()
        let h = model.config.hiddenSize
        let size = texts.count * h
        guard theirs.count == ours.count * size, ours.allSatisfy({ $0.count == texts.count }) else {
            throw FormatError(
                .invalidContent, "PyTorch's pooled states have \(theirs.count) values, ours \(ours.count) × \(size)",
                path: files.logits)
        }
        let worst = worstRelativeError(ours.map { Array($0.joined()) }, theirs)
        let timing = try stopwatch.measure { _ = try run() }
        return AnalysisResult(
            texts: texts.count, batchSize: batchSize, tokens: texts.reduce(0) { $0 + $1.count }, timing: timing,
            relativeError: worst.error, worstLayer: worst.index)
    }

    /// Over equal slices (hidden states, or layers of pooled states) of
    /// `theirs`, flattened in the order of `ours`: the worst relative error
    /// (``ForwardBench/errors(_:_:)``) and the slice it is in.
    static func worstRelativeError(_ ours: [[Float]], _ theirs: [Float]) -> (error: Double, index: Int) {
        var worst = (error: 0.0, index: 0)
        var start = 0
        for (i, slice) in ours.enumerated() {
            let e = ForwardBench.errors(slice, Array(theirs[start..<(start + slice.count)])).relative
            if e > worst.error { worst = (e, i) }
            start += slice.count
        }
        return worst
    }
}
