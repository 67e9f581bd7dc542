import AdapterFormat
import Dispatch
import Foundation
import Tensors

/// What a forward pass returns: one row per row of its ``TokenBatch``
/// (`TokenBatch/row(_:_:)` finds a token's), `batch · length` rows for a
/// padded batch, the sum of the lengths for a packed one.
public struct ForwardOutput: Sendable {
    public let batch: Int
    /// The batch's longest sequence.
    public let length: Int
    /// rows × vocab (or, when the pass was given `logitRows`, those rows only,
    /// in their order), or empty when the pass stopped early or was asked for none.
    public let logits: [Float]
    /// As transformers' `output_hidden_states`: entry 0 the embeddings, entry k
    /// the output of block k, and the last entry (k = L) with the final norm
    /// applied. Each is rows × hidden. Empty unless requested.
    public let hiddenStates: [[Float]]
}

/// A Llama-family decoder (Llama, Qwen2, Mistral) on the CPU.
///
/// Every projection group (q‖k‖v, o, gate‖up, down) is one sgemm over all
/// tokens of a batch part, with its LoRA terms as two more; attention is two
/// sgemms per sequence, head and block of query rows, over only the keys
/// that block may see. A batch of several sequences is split into
/// one part per core, each run start to finish on its own thread with
/// single-threaded BLAS, so no core ever waits for another inside a pass.
/// A single sequence runs as one part, with BLAS and the element-wise loops
/// spread over the cores instead.
public final class TransformerModel: @unchecked Sendable {
    public let config: ModelConfig
    public let weights: ModelWeights
    /// The directory or GGUF file the model was loaded from.
    public let path: String
    /// Query rows per attention block. Each block multiplies only against the
    /// keys its rows may see (from the window's start to its last row, and
    /// never past the sequence's real length), which skips most of the masked
    /// upper triangle and all padding keys; at 32 rows the sgemms stay large
    /// enough to run at the kernel's rate.
    public static let attentionBlock = 32
    /// Cores a forward pass may use (default: those this process may run on).
    public var threadCount: Int = ProcessorCount.available
    /// cos/sin tables: positions × (headDimension / 2), grown under `ropeLock`
    /// (decoding on several threads at once asks for longer tables), never shrunk.
    private var ropeCos: [Float] = []
    private var ropeSin: [Float] = []
    private let ropeLock = NSLock()

    /// Loads the model at `path`: a Hugging Face directory or a GGUF file (``ModelPath``).
    public init(path: String, residency: WeightResidency = .auto) throws {
        self.path = path
        if ModelPath.isGGUF(path) {
            let file = try GGUFFile(path: path)
            config = try ModelConfig(gguf: file)
            weights = try ModelWeights(gguf: file, config: config, residency: residency)
        } else {
            config = try ModelConfig(directory: path)
            weights = try ModelWeights(directory: path, config: config, residency: residency)
        }
    }

    public convenience init(directory: String, residency: WeightResidency = .auto) throws {
        try self.init(path: directory, residency: residency)
    }

    /// RoPE cos/sin tables covering at least `length` positions. The arrays
    /// are value copies, so a caller keeps reading them safely while another
    /// thread grows the model's tables.
    func ropeTables(covering length: Int) -> (cos: [Float], sin: [Float]) {
        ropeLock.lock()
        defer { ropeLock.unlock() }
        if ropeCos.count < length * (config.headDimension / 2) {
            (ropeCos, ropeSin) = config.ropeTables(positions: length)
        }
        return (ropeCos, ropeSin)
    }

    /// Runs the decoder over a batch, padded or packed (``TokenBatch``); the
    /// hidden states have one row per batch row (``TokenBatch/row(_:_:)``),
    /// and so do the logits unless `logitRows` picks some.
    ///
    /// - Parameters:
    ///   - adapters: LoRA terms applied unmerged.
    ///   - hiddenStates: also return every layer's hidden states.
    ///   - stopAfter: stop after this many blocks (the alignment loss needs
    ///     only `hidden_states[ℓ]`); then no logits are computed and the last
    ///     hidden state returned is block ℓ's output, without the final norm.
    ///   - logits: compute the logits; without them a full pass still returns
    ///     every hidden state (the last with the final norm) and skips the
    ///     output head, a fifth of a small model's work and its largest buffer.
    ///   - logitRows: compute the logits of these batch rows only, ascending
    ///     (scoring reads the response's rows, generation the prompt's last):
    ///     the head's work and buffer shrink to them.
    public func forward(
        _ batch: TokenBatch, adapters: AdapterStack = .empty, hiddenStates: Bool = false,
        stopAfter: Int? = nil, logits: Bool = true, logitRows: [Int]? = nil
    ) throws -> ForwardOutput {
        try forward(
            batch, adapters: adapters, hiddenStates: hiddenStates, stopAfter: stopAfter, cache: nil,
            logitRows: logits ? logitRows : [])
    }

    /// - Parameters:
    ///   - serial: run on the calling thread only (the caller parallelises over sequences).
    ///   - logitRows: as the public `forward`'s; empty for no logits at all.
    func forward(
        _ batch: TokenBatch, adapters: AdapterStack, hiddenStates: Bool, stopAfter: Int?,
        cache: KVCache?, serial: Bool = false, logitRows: [Int]? = nil
    ) throws -> ForwardOutput {
        let c = config
        let n = batch.rows
        let h = c.hiddenSize
        let layers = max(0, min(stopAfter ?? c.layerCount, c.layerCount))
        guard n > 0 else {
            return ForwardOutput(
                batch: batch.count, length: batch.length, logits: [],
                hiddenStates: hiddenStates ? Array(repeating: [], count: layers + 1) : [])
        }
        for id in batch.ids where id < 0 || id >= c.vocabSize {
            throw FormatError(
                .invalidContent, "token id \(id) is outside the vocabulary of \(c.vocabSize)", path: path)
        }
        if let selected = logitRows,
            zip(selected, selected.dropFirst()).contains(where: { $0 >= $1 })
                || selected.contains(where: { !(0..<n).contains($0) })
        {
            throw FormatError(
                .invalidContent, "logit rows must ascend within the batch's \(n) rows", path: path)
        }
        let rope = ropeTables(covering: batch.length)
        let full = layers == c.layerCount
        // Parts write disjoint rows of the outputs through raw pointers.
        let stateBuffers =
            hiddenStates ? (0...layers).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: n * h) } : []
        defer { for buffer in stateBuffers { buffer.deallocate() } }
        // Stored weights are widened once per group for the whole batch, so they run as one part over all cores.
        let parts = cache == nil && !serial && weights.isWidened ? max(1, min(threadCount, batch.count)) : 1
        let run = { (logits: UnsafeMutablePointer<Float>?) in
            let output = ForwardPass.Output(
                logits: logits.map { SharedPointer($0) }, logitRows: logitRows,
                states: stateBuffers.map { SharedPointer($0) }, finalNorm: full)
            if parts == 1 {
                ForwardPass(
                    model: self, batch: batch, sequences: 0..<batch.count, adapters: adapters, layers: layers,
                    spreadAcrossCores: !serial && self.threadCount > 1, cache: cache, rope: rope
                ).run(into: output)
                return
            }
            BLAS.withThreads(1) {
                let bounds = batch.partBoundaries(parts)
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    let sequences = bounds[p]..<bounds[p + 1]
                    ForwardPass(
                        model: self, batch: batch, sequences: sequences, adapters: adapters, layers: layers,
                        spreadAcrossCores: false, cache: nil, rope: rope
                    ).run(into: output)
                }
            }
        }
        var logits: [Float] = []
        let logitCount = (logitRows?.count ?? n) * c.vocabSize
        if full && logitCount > 0 {
            logits = [Float](unsafeUninitializedCapacity: logitCount) { buffer, initialized in
                run(buffer.baseAddress!)
                initialized = logitCount
            }
        } else {
            run(nil)
        }
        return ForwardOutput(
            batch: batch.count, length: batch.length, logits: logits,
            hiddenStates: stateBuffers.map { Array($0) })
    }
}
