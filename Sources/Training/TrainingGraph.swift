import Dispatch
import Foundation
import Tensors
import Transformer

/// The forward pass of a Llama-family decoder with trainable LoRA, keeping what
/// the backward pass needs, and that backward pass for the LoRA factors.
///
/// The base weights are frozen: the backward pass computes gradients with
/// respect to activations (to flow through every block) and to the LoRA
/// factors, never to a base weight. Generic over the scalar so the same code
/// runs in `Float` for training and in `Double` for the finite-difference
/// tests.
///
/// Per block it keeps: the block input and RMSNorm reciprocals, the normed
/// inputs, q‖k‖v after RoPE, the attention probabilities, the attention
/// output, the mid-block residual, gate‖up before the activation, SwiGLU's
/// output, and per LoRA module `t = dropout(x) · Aᵀ` (with the dropped-out
/// input when dropout is on). That is about `(6h + 4I + 3·qkv + H·T) · rows`
/// scalars a block; ``Options/recompute`` keeps only block inputs and
/// recomputes the rest block by block during the backward pass.
public struct TrainingGraph<Scalar: TrainingScalar>: Sendable {
    public struct Options: Sendable {
        /// LoRA dropout on the input of every `A` (PEFT's `lora_dropout`).
        public var dropout: Double = 0
        /// Activation checkpointing: keep only each block's input and
        /// recompute its activations when its gradients are needed.
        public var recompute = false
        /// Batch parts run in parallel by the task loss, each with one BLAS thread.
        public var threads = 1
        public init(dropout: Double = 0, recompute: Bool = false, threads: Int = 1) {
            self.dropout = dropout
            self.recompute = recompute
            self.threads = threads
        }
    }

    public let weights: FrozenWeights<Scalar>
    public let options: Options
    /// With gradients here, the losses also accumulate every base weight's
    /// gradient (full-parameter training) and run as one part.
    public let baseGradients: BaseGradients<Scalar>?
    var config: ModelConfig { weights.config }

    public init(
        weights: FrozenWeights<Scalar>, options: Options = Options(), baseGradients: BaseGradients<Scalar>? = nil
    ) {
        self.weights = weights
        self.options = options
        self.baseGradients = baseGradients
    }

    /// Parts a batch may be split into. With base gradients each part needs a
    /// model-sized gradient of its own, so the task loss splits only models
    /// up to 64 M parameters, and the alignment loss not at all.
    var partLimit: Int { baseGradients == nil ? options.threads : 1 }
    var taskPartLimit: Int {
        guard baseGradients != nil else { return options.threads }
        return weights.trainableTensors.reduce(0) { $0 + $1.count } <= 64_000_000 ? options.threads : 1
    }

    /// Adds the gradient of the token embeddings' rows (`dx` of the first block's input).
    func accumulateEmbedding(_ batch: Batch, dx: Storage<Scalar>) {
        guard let base = baseGradients else { return }
        let h = config.hiddenSize
        for r in 0..<batch.rows where batch.lengths[r / max(batch.length, 1)] > r % max(batch.length, 1) {
            let src = dx.p + r * h
            let dst = base.embedding.p + batch.ids[r] * h
            for k in 0..<h { dst[k] += src[k] }
        }
    }

    // MARK: - Batches

    /// A right-padded batch of sequences.
    struct Batch {
        let count: Int
        let length: Int
        let ids: [Int]
        let lengths: [Int]
        var rows: Int { count * length }

        init(_ sequences: [[Int]]) {
            count = sequences.count
            length = sequences.map(\.count).max() ?? 0
            var ids = [Int](repeating: 0, count: count * length)
            for (b, s) in sequences.enumerated() { for (t, id) in s.enumerated() { ids[b * length + t] = id } }
            self.ids = ids
            lengths = sequences.map(\.count)
        }
    }

    // MARK: - Objectives

    /// Task loss (docs/DESIGN.md §6): the mean token cross-entropy over every
    /// scored token of the batch (each example's tokens from `promptLength`
    /// on; BOS and the prompt are masked), and its gradient, added to `gradients`
    /// times `weight`.
    ///
    /// With ``Options/threads`` above 1, the examples are split into one part
    /// per thread, each run forward and backward with single-threaded BLAS into
    /// its own gradients, which are then summed: the loss is normalised by the
    /// whole batch's token count either way.
    public func taskLoss(
        _ examples: [Scoring.Example], lora: LoRAParameters<Scalar>, gradients: LoRAParameters<Scalar>?,
        weight: Scalar = 1, random: inout TrainingRandom
    ) -> Double {
        let total = examples.reduce(0) { $0 + $1.scoredPositions.count }
        guard total > 0 else { return .nan }
        let parts = max(1, min(taskPartLimit, examples.count))
        if parts == 1 {
            return taskPart(
                examples, normalizer: total, lora: lora, gradients: gradients, weight: weight, random: &random)
                / Double(total)
        }
        weights.ensureRope(examples.map(\.ids.count).max() ?? 0)
        let seeds = (0..<parts).map { _ in random.next() }
        let partials = (0..<parts).map { _ in gradients?.zerosLike() }
        // Full-parameter training: each part accumulates base gradients of its own.
        let graphs = (0..<parts).map { _ in
            baseGradients == nil
                ? self : TrainingGraph(weights: weights, options: options, baseGradients: BaseGradients(like: weights))
        }
        let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: parts)
        defer { sums.deallocate() }
        let results = SharedPointer(sums)
        BLAS.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let slice = Array(examples[(p * examples.count / parts)..<((p + 1) * examples.count / parts)])
                var stream = TrainingRandom(state: seeds[p])
                results.p[p] = graphs[p].taskPart(
                    slice, normalizer: total, lora: lora, gradients: partials[p], weight: weight,
                    random: &stream)
            }
        }
        if let base = baseGradients {
            for graph in graphs {
                guard let partial = graph.baseGradients else { continue }
                for (sum, piece) in zip(base.tensors, partial.tensors) {
                    for i in 0..<sum.count { sum.p[i] += piece.p[i] }
                }
            }
        }
        if let gradients {
            for partial in partials.compactMap({ $0 }) {
                for (sum, part) in zip(gradients.tensors, partial.tensors) {
                    for i in 0..<sum.count { sum.p[i] += part.p[i] }
                }
            }
        }
        return sums.reduce(0, +) / Double(total)
    }

    /// The summed cross-entropy of `examples`' scored tokens; their gradients,
    /// divided by `normalizer`, go into `gradients`.
    func taskPart(
        _ examples: [Scoring.Example], normalizer: Int, lora: LoRAParameters<Scalar>,
        gradients: LoRAParameters<Scalar>?, weight: Scalar, random: inout TrainingRandom
    ) -> Double {
        let batch = Batch(examples.map(\.ids))
        let c = config
        let h = c.hiddenSize
        let vocab = c.vocabSize
        // (row whose logits predict, target id) for every scored token.
        var scored: [(row: Int, target: Int)] = []
        for (b, ex) in examples.enumerated() where ex.ids.count > 1 {
            for p in ex.scoredPositions { scored.append((b * batch.length + p - 1, ex.ids[p])) }
        }
        guard !scored.isEmpty, batch.rows > 0 else { return 0 }
        var tapes: [BlockTape] = []
        let x = forward(batch, blocks: c.layerCount, lora: lora, random: &random, tapes: &tapes)

        // Final norm and head, on the scored rows only: the others do not reach the loss.
        let n = scored.count
        let gathered = Storage<Scalar>(uninitialized: n * h)
        for (i, s) in scored.enumerated() { (gathered.p + i * h).update(from: x.p + s.row * h, count: h) }
        let normed = Storage<Scalar>(uninitialized: n * h)
        let inverse = Storage<Scalar>(uninitialized: n)
        rmsNorm(gathered, weights.finalNorm, into: normed, inverse: inverse, rows: n)
        let logits = Storage<Scalar>(uninitialized: n * vocab)
        Scalar.gemm(
            transposeA: false, transposeB: true, m: n, n: vocab, k: h, alpha: 1, a: normed.p, lda: h,
            b: weights.head.p, ldb: h, beta: 0, c: logits.p, ldc: vocab)
        var loss = 0.0
        let scale = Scalar(1) / Scalar(normalizer)
        for i in 0..<n {
            let row = logits.p + i * vocab
            var peak = -Scalar.infinity
            for j in 0..<vocab { peak = Swift.max(peak, row[j]) }
            var sum = 0.0
            for j in 0..<vocab { sum += Foundation.exp(Double(row[j] - peak)) }
            let logSum = Double(peak) + Foundation.log(sum)
            loss += logSum - Double(row[scored[i].target])
            // d loss / d logits = (softmax − one-hot) / n, in place.
            for j in 0..<vocab { row[j] = Scalar(Foundation.exp(Double(row[j]) - logSum)) * scale }
            row[scored[i].target] -= scale
        }
        guard let gradients else { return loss }

        let dNormed = Storage<Scalar>(uninitialized: n * h)
        Scalar.gemm(
            transposeA: false, transposeB: false, m: n, n: h, k: vocab, alpha: weight, a: logits.p, lda: vocab,
            b: weights.head.p, ldb: h, beta: 0, c: dNormed.p, ldc: h)
        if let base = baseGradients {
            Scalar.gemm(
                transposeA: true, transposeB: false, m: vocab, n: h, k: n, alpha: weight, a: logits.p, lda: vocab,
                b: normed.p, ldb: h, beta: 1, c: base.headTarget.p, ldc: h)
        }
        let dGathered = Storage<Scalar>(n * h)
        rmsNormBackward(
            gathered, weights.finalNorm, inverse: inverse, dOut: dNormed, into: dGathered, rows: n,
            dWeight: baseGradients?.finalNorm)
        let dx = Storage<Scalar>(batch.rows * h)
        for (i, s) in scored.enumerated() {
            let src = dGathered.p + i * h
            let dst = dx.p + s.row * h
            for k in 0..<h { dst[k] += src[k] }
        }
        let dEmbedded = backward(batch, dx: dx, tapes: tapes, lora: lora, gradients: gradients, random: &random)
        accumulateEmbedding(batch, dx: dEmbedded)
        return loss
    }

    /// Alignment loss (docs/DESIGN.md §6): anchors `side0[i]` and candidates
    /// `side1[j]` are mean-pooled at `hidden_states[layer]` (BOS included,
    /// padding excluded, before any final norm); `S = cos / τ`; the loss is the
    /// mean cross-entropy of each anchor's row against its own candidate.
    /// Gradients flow through both sides. NaN (and no gradient) unless both
    /// sides have the same, nonzero number of sequences.
    public func alignmentLoss(
        side0: [[Int]], side1: [[Int]], layer: Int, temperature: Double,
        lora: LoRAParameters<Scalar>, gradients: LoRAParameters<Scalar>?, weight: Scalar = 1,
        random: inout TrainingRandom
    ) -> Double {
        guard side0.count == side1.count, !side0.isEmpty else { return .nan }
        let pairs = side0.count
        let h = config.hiddenSize
        let sequences = side0 + side1
        // Each part runs its sequences to layer ℓ and back on its own thread;
        // only the pooled vectors meet, in the loss in between.
        let partCount = max(1, min(partLimit, sequences.count))
        let parts: [AlignmentPart] = (0..<partCount).map { p in
            let range = (p * sequences.count / partCount)..<((p + 1) * sequences.count / partCount)
            return AlignmentPart(
                range: range, batch: Batch(Array(sequences[range])),
                random: partCount == 1 ? random : TrainingRandom(state: random.next()))
        }
        weights.ensureRope(sequences.map(\.count).max() ?? 0)
        inParallel(parts) { _, part in
            part.x = forward(part.batch, blocks: layer, lora: lora, random: &part.random, tapes: &part.tapes)
        }

        // Mean-pooled, then normalised: u (anchors) and v (candidates), in Double.
        var pooled = [[Double]](repeating: [Double](repeating: 0, count: h), count: 2 * pairs)
        var norms = [Double](repeating: 0, count: 2 * pairs)
        for part in parts {
            for (local, s) in part.range.enumerated() {
                let count = part.batch.lengths[local]
                for t in 0..<count {
                    let row = part.x.p + (local * part.batch.length + t) * h
                    for k in 0..<h { pooled[s][k] += Double(row[k]) }
                }
                if count > 0 { for k in 0..<h { pooled[s][k] /= Double(count) } }
                norms[s] = Swift.max(pooled[s].reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-8)
            }
        }
        let unit = (0..<(2 * pairs)).map { s in pooled[s].map { $0 / norms[s] } }
        var scores = [[Double]](repeating: [Double](repeating: 0, count: pairs), count: pairs)
        for i in 0..<pairs {
            for j in 0..<pairs {
                var dot = 0.0
                for k in 0..<h { dot += unit[i][k] * unit[pairs + j][k] }
                scores[i][j] = dot / temperature
            }
        }
        var loss = 0.0
        var dScores = scores
        for i in 0..<pairs {
            let peak = scores[i].max() ?? 0
            let sum = scores[i].reduce(0) { $0 + Foundation.exp($1 - peak) }
            let logSum = peak + Foundation.log(sum)
            loss += logSum - scores[i][i]
            for j in 0..<pairs {
                dScores[i][j] = (Foundation.exp(scores[i][j] - logSum) - (i == j ? 1 : 0)) / Double(pairs)
            }
        }
        loss /= Double(pairs)
        if partCount == 1 { random = parts[0].random }
        guard let gradients else { return loss }

        // dS → d unit vectors → d pooled (through the normalisation), per sequence.
        var dPooled = [[Double]](repeating: [], count: 2 * pairs)
        for s in 0..<(2 * pairs) {
            var dUnit = [Double](repeating: 0, count: h)
            for other in 0..<pairs {
                let g = s < pairs ? dScores[s][other] : dScores[other][s - pairs]
                guard g != 0 else { continue }
                let partner = s < pairs ? unit[pairs + other] : unit[other]
                for k in 0..<h { dUnit[k] += g * partner[k] / temperature }
            }
            var along = 0.0
            for k in 0..<h { along += dUnit[k] * unit[s][k] }
            dPooled[s] = (0..<h).map { k in (dUnit[k] - along * unit[s][k]) / norms[s] * Double(weight) }
        }
        // Each part spreads its sequences' gradients over their real tokens and runs back into its own gradients.
        let partials = parts.map { _ in partCount == 1 ? gradients : gradients.zerosLike() }
        let targets = SharedArray(partials)
        let dPooledBySequence = dPooled
        inParallel(parts) { index, part in
            let dx = Storage<Scalar>(part.batch.rows * h)
            for (local, s) in part.range.enumerated() {
                let count = part.batch.lengths[local]
                guard count > 0 else { continue }
                for t in 0..<count {
                    let row = dx.p + (local * part.batch.length + t) * h
                    for k in 0..<h { row[k] = Scalar(dPooledBySequence[s][k] / Double(count)) }
                }
            }
            let dEmbedded = backward(
                part.batch, dx: dx, tapes: part.tapes, lora: lora, gradients: targets.values[index],
                random: &part.random)
            accumulateEmbedding(part.batch, dx: dEmbedded)
            part.tapes = []
        }
        if partCount > 1 {
            for partial in partials {
                for (sum, piece) in zip(gradients.tensors, partial.tensors) {
                    for i in 0..<sum.count { sum.p[i] += piece.p[i] }
                }
            }
        }
        return loss
    }

    /// One thread's share of an alignment batch and what its passes keep.
    final class AlignmentPart: @unchecked Sendable {
        let range: Range<Int>
        let batch: Batch
        var random: TrainingRandom
        var tapes: [BlockTape] = []
        var x = Storage<Scalar>(0)

        init(range: Range<Int>, batch: Batch, random: TrainingRandom) {
            self.range = range
            self.batch = batch
            self.random = random
        }
    }

    /// Runs `body` for every part (with its index): inline for one, else one
    /// thread each with single-threaded BLAS.
    func inParallel(_ parts: [AlignmentPart], _ body: @Sendable (Int, AlignmentPart) -> Void) {
        guard parts.count > 1 else {
            body(0, parts[0])
            return
        }
        BLAS.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: parts.count) { body($0, parts[$0]) }
        }
    }
}

/// Values that parallel parts read at their own index.
struct SharedArray<T>: @unchecked Sendable {
    let values: [T]
    init(_ values: [T]) { self.values = values }
}
