import Foundation
import Tensors
import Transformer

extension TrainingGraph {
    /// What one block keeps for its backward pass (all row-major, rows = batch tokens).
    final class BlockTape {
        let input: Storage<Scalar>  // rows × h
        var inverse1: Storage<Scalar>!  // rows: 1/rms of the input
        var normed1: Storage<Scalar>!  // rows × h
        var qkv: Storage<Scalar>!  // rows × (q + 2kv), after RoPE
        var probabilities: Storage<Scalar>!  // batch × heads × T × T
        var attended: Storage<Scalar>!  // rows × q
        var middle: Storage<Scalar>!  // rows × h: input + attention
        var inverse2: Storage<Scalar>!
        var normed2: Storage<Scalar>!
        var gateUp: Storage<Scalar>!  // rows × 2I, before SwiGLU
        var activation: Storage<Scalar>!  // rows × I
        /// Per LoRA module index: `t = x̃ · Aᵀ` and, with dropout, the kept mask scaled by 1/(1−p).
        var loraT: [Int: Storage<Scalar>] = [:]
        var loraKeep: [Int: Storage<Scalar>] = [:]
        /// The dropout generator's state when the block ran, so a recomputation draws the same masks.
        var random: TrainingRandom

        init(input: Storage<Scalar>, random: TrainingRandom) {
            self.input = input
            self.random = random
        }

        /// Drops everything but the input (activation checkpointing).
        func release() {
            inverse1 = nil
            normed1 = nil
            qkv = nil
            probabilities = nil
            attended = nil
            middle = nil
            inverse2 = nil
            normed2 = nil
            gateUp = nil
            activation = nil
            loraT = [:]
            loraKeep = [:]
        }
    }

    /// Runs `blocks` blocks from the embeddings; returns their output and fills `tapes`.
    func forward(
        _ batch: Batch, blocks: Int, lora: LoRAParameters<Scalar>, random: inout TrainingRandom,
        tapes: inout [BlockTape]
    ) -> Storage<Scalar> {
        let h = config.hiddenSize
        weights.ensureRope(batch.length)
        var x = Storage<Scalar>(uninitialized: batch.rows * h)
        for r in 0..<batch.rows { (x.p + r * h).update(from: weights.embedding.p + batch.ids[r] * h, count: h) }
        for l in 0..<blocks {
            let tape = BlockTape(input: x, random: random)
            x = runBlock(l, batch, tape: tape, lora: lora, random: &random)
            if options.recompute { tape.release() }
            tapes.append(tape)
        }
        return x
    }

    /// One block forward, recording into `tape`; returns the block's output.
    func runBlock(
        _ l: Int, _ batch: Batch, tape: BlockTape, lora: LoRAParameters<Scalar>,
        random: inout TrainingRandom
    ) -> Storage<Scalar> {
        let c = config
        let w = weights.layers[l]
        let rows = batch.rows
        let h = c.hiddenSize
        let d = c.headDimension
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        let inter = c.intermediateSize
        tape.inverse1 = Storage(uninitialized: rows)
        tape.normed1 = Storage(uninitialized: rows * h)
        rmsNorm(tape.input, w.inputNorm, into: tape.normed1, inverse: tape.inverse1, rows: rows)

        tape.qkv = Storage(uninitialized: rows * qkvWidth)
        project(
            .qkv, lora: lora, layer: l, input: tape.normed1, rows: rows, output: tape.qkv, accumulate: false,
            tape: tape, random: &random)
        rope(tape.qkv, rows: rows, length: batch.length, inverse: false)

        tape.probabilities = Storage(uninitialized: batch.count * c.headCount * batch.length * batch.length)
        tape.attended = Storage(uninitialized: rows * qWidth)
        attention(batch, qkv: tape.qkv, probabilities: tape.probabilities, into: tape.attended)

        tape.middle = tape.input.copy()
        project(
            .o, lora: lora, layer: l, input: tape.attended, rows: rows, output: tape.middle, accumulate: true,
            tape: tape, random: &random)

        tape.inverse2 = Storage(uninitialized: rows)
        tape.normed2 = Storage(uninitialized: rows * h)
        rmsNorm(tape.middle, w.postAttentionNorm, into: tape.normed2, inverse: tape.inverse2, rows: rows)
        tape.gateUp = Storage(uninitialized: rows * 2 * inter)
        project(
            .gateUp, lora: lora, layer: l, input: tape.normed2, rows: rows, output: tape.gateUp, accumulate: false,
            tape: tape, random: &random)
        tape.activation = Storage(uninitialized: rows * inter)
        Scalar.swigluForward(tape.gateUp.p, into: tape.activation.p, rows: rows, intermediate: inter)
        let output = tape.middle.copy()
        project(
            .down, lora: lora, layer: l, input: tape.activation, rows: rows, output: output, accumulate: true,
            tape: tape, random: &random)
        return output
    }

    /// `output (=|+=) input · Wᵀ + bias + Σ s · (dropout(input) · Aᵀ) · Bᵀ` for one projection group.
    func project(
        _ kind: ProjectionGroup, lora: LoRAParameters<Scalar>, layer: Int, input: Storage<Scalar>,
        rows: Int, output: Storage<Scalar>, accumulate: Bool, tape: BlockTape, random: inout TrainingRandom
    ) {
        let group = weights.layers[layer][kind]
        let width = group.rows
        let inWidth = group.columns
        if let bias = group.bias {
            for r in 0..<rows {
                let row = output.p + r * width
                for i in 0..<width { row[i] = (accumulate ? row[i] : 0) + bias.p[i] }
            }
        }
        group.withWeight { w in
            Scalar.gemm(
                transposeA: false, transposeB: true, m: rows, n: width, k: inWidth, alpha: 1, a: input.p,
                lda: inWidth, b: w, ldb: inWidth, beta: accumulate || group.bias != nil ? 1 : 0, c: output.p,
                ldc: width)
        }
        for index in lora.modules(layer: layer, group: kind) {
            let m = lora.modules[index]
            var source = input
            if options.dropout > 0 {
                let count = rows * inWidth
                let keep = Storage<Scalar>(uninitialized: count)
                let dropped = Storage<Scalar>(uninitialized: count)
                // One draw from the run's stream seeds a counter-based stream for this mask,
                // which the kernels fill in parallel lanes; an element is dropped with probability p.
                Scalar.dropoutMask(
                    keep.p, count: count, seed: random.next(),
                    threshold: UInt32(Swift.min(options.dropout * 4_294_967_296, 4_294_967_295)),
                    scale: Scalar(1 / (1 - options.dropout)))
                for i in 0..<count { dropped.p[i] = input.p[i] * keep.p[i] }
                tape.loraKeep[index] = keep
                source = dropped
            }
            let t = Storage<Scalar>(uninitialized: rows * m.rank)
            Scalar.gemm(
                transposeA: false, transposeB: true, m: rows, n: m.rank, k: inWidth, alpha: 1, a: source.p,
                lda: inWidth,
                b: m.a.p, ldb: inWidth, beta: 0, c: t.p, ldc: m.rank)
            Scalar.gemm(
                transposeA: false, transposeB: true, m: rows, n: m.outFeatures, k: m.rank, alpha: m.scaling,
                a: t.p, lda: m.rank, b: m.b.p, ldb: m.rank, beta: 1, c: output.p + m.column, ldc: width)
            tape.loraT[index] = t
        }
    }

    /// Causal, padding-masked softmax attention with grouped-query heads; keeps the probabilities.
    func attention(_ batch: Batch, qkv: Storage<Scalar>, probabilities: Storage<Scalar>, into out: Storage<Scalar>) {
        let c = config
        let d = c.headDimension
        let t = batch.length
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        let group = c.headCount / c.keyValueHeadCount
        let scale = 1 / Scalar(d).squareRoot()
        let span = c.slidingWindow ?? Int.max
        for s in 0..<batch.count {
            let base = qkv.p + s * t * qkvWidth
            let real = batch.lengths[s]
            for head in 0..<c.headCount {
                let kvHead = head / group
                let p = probabilities.p + (s * c.headCount + head) * t * t
                Scalar.gemm(
                    transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: scale, a: base + head * d,
                    lda: qkvWidth,
                    b: base + qWidth + kvHead * d, ldb: qkvWidth, beta: 0, c: p, ldc: t)
                for i in 0..<t {
                    let row = p + i * t
                    let lo = i >= span ? i - span + 1 : 0
                    let hi = Swift.min(i, real - 1)
                    guard lo <= hi else {
                        for j in 0..<t { row[j] = 0 }
                        continue
                    }
                    var peak = -Scalar.infinity
                    for j in lo...hi { peak = Swift.max(peak, row[j]) }
                    var sum: Scalar = 0
                    for j in lo...hi {
                        row[j] = Scalar.exponential(row[j] - peak)
                        sum += row[j]
                    }
                    for j in 0..<t { row[j] = (j >= lo && j <= hi) ? row[j] / sum : 0 }
                }
                Scalar.gemm(
                    transposeA: false, transposeB: false, m: t, n: d, k: t, alpha: 1, a: p, lda: t,
                    b: base + qWidth + kvWidth + kvHead * d, ldb: qkvWidth, beta: 0,
                    c: out.p + s * t * qWidth + head * d, ldc: qWidth)
            }
        }
    }

    /// RoPE on the q and k parts of q‖k‖v rows (`inverse`: the transpose, for gradients).
    func rope(_ qkv: Storage<Scalar>, rows: Int, length: Int, inverse: Bool) {
        let c = config
        let d = c.headDimension
        let half = d / 2
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        weights.ropeCos.withUnsafeBufferPointer { cosines in
            weights.ropeSin.withUnsafeBufferPointer { sines in
                for r in 0..<rows {
                    let pos = r % length
                    let cs = cosines.baseAddress! + pos * half
                    let sn = sines.baseAddress! + pos * half
                    for head in 0..<(c.headCount + c.keyValueHeadCount) {
                        let v = qkv.p + r * qkvWidth + head * d
                        for i in 0..<half {
                            let a = v[i]
                            let b = v[i + half]
                            if inverse {
                                v[i] = a * cs[i] + b * sn[i]
                                v[i + half] = b * cs[i] - a * sn[i]
                            } else {
                                v[i] = a * cs[i] - b * sn[i]
                                v[i + half] = b * cs[i] + a * sn[i]
                            }
                        }
                    }
                }
            }
        }
    }

    /// RMSNorm as transformers computes it, keeping each row's 1/rms.
    func rmsNorm(
        _ x: Storage<Scalar>, _ weight: Storage<Scalar>, into out: Storage<Scalar>, inverse: Storage<Scalar>, rows: Int
    ) {
        let h = config.hiddenSize
        let eps = Scalar(config.rmsNormEpsilon)
        for r in 0..<rows {
            let row = x.p + r * h
            let dst = out.p + r * h
            var sum: Scalar = 0
            for i in 0..<h { sum += row[i] * row[i] }
            let inv = 1 / (sum / Scalar(h) + eps).squareRoot()
            inverse.p[r] = inv
            for i in 0..<h { dst[i] = weight.p[i] * (row[i] * inv) }
        }
    }

    /// `dx += ∂RMSNorm/∂x · dOut`: with g = w ∘ dOut and r = 1/rms,
    /// `dx = r·g − x·r³·⟨g, x⟩/h`.
    /// With `dWeight`, also `dw[i] += Σ_rows dOut[i] · x[i] · r`.
    func rmsNormBackward(
        _ x: Storage<Scalar>, _ weight: Storage<Scalar>, inverse: Storage<Scalar>, dOut: Storage<Scalar>,
        into dx: Storage<Scalar>, rows: Int, dWeight: Storage<Scalar>? = nil
    ) {
        let h = config.hiddenSize
        for r in 0..<rows {
            let row = x.p + r * h
            let dy = dOut.p + r * h
            let dst = dx.p + r * h
            let inv = inverse.p[r]
            if let dWeight { for i in 0..<h { dWeight.p[i] += dy[i] * row[i] * inv } }
            var dot: Scalar = 0
            for i in 0..<h { dot += weight.p[i] * dy[i] * row[i] }
            let k = inv * inv * inv * dot / Scalar(h)
            for i in 0..<h { dst[i] += inv * weight.p[i] * dy[i] - row[i] * k }
        }
    }
}
