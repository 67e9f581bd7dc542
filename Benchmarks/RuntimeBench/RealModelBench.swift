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
        var worst = (error: 0.0, index: 0)
        for (i, state) in ours.hiddenStates.enumerated() {
            let e = ForwardBench.errors(state, Array(states[(i * size)..<((i + 1) * size)])).relative
            if e > worst.error { worst = (e, i) }
        }

        let withStates = try stopwatch.measure { _ = try model.forward(batch, hiddenStates: true) }
        let logitsOnly = try stopwatch.measure { _ = try model.forward(batch) }
        let result = RealForwardResult(
            tokens: batch.count * batch.length, loadSeconds: load.seconds, widened: model.weights.isWidened,
            states: withStates, logitsOnly: logitsOnly, absoluteError: absoluteError, relativeError: relativeError,
            stateCount: ours.hiddenStates.count, stateRelativeError: worst.error, worstState: worst.index)
        return (result, model.config)
    }
}
