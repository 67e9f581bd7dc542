import Dispatch
import Tensors
import Transformer

/// The BLAS work of one forward pass, timed phase by phase.
///
/// The runtime's own phases are internal to the `Transformer` module, so this
/// replays the matrix products a forward pass makes (same shapes, same
/// calls: one sgemm per projection over all tokens, two per LoRA term, two per
/// sequence and head for attention run across cores, one for the head) on
/// scratch buffers. What the measured forward pass takes beyond their sum is
/// the runtime's non-BLAS work: norms, RoPE, softmax, SiLU, residual adds,
/// buffer allocation and copies.
///
/// One more phase is a what-if, not something the runtime does today: the
/// projections and LoRA terms with q|k|v and gate|up fused into one sgemm
/// each and the LoRA A factors appended to the fused weights, to size that
/// change against the first two phases.
enum PhaseBench {
    /// One phase of the replay.
    struct Phase {
        let name: String
        let timing: Timing
        /// Not part of the runtime's pass: an alternative to the phases above, timed for comparison.
        var whatIf = false
    }

    /// Times each phase of the replay for `config` on a `sequences` × `length` batch with rank-`rank` LoRA.
    static func run(config c: ModelConfig, sequences: Int, length: Int, rank: Int, stopwatch: Stopwatch) -> [Phase] {
        let n = sequences * length, h = c.hiddenSize, inter = c.intermediateSize
        let qWidth = c.headCount * c.headDimension, kvWidth = c.keyValueHeadCount * c.headDimension
        // (out, in) of the seven projections, in the order a block runs them.
        let shapes = [(qWidth, h), (kvWidth, h), (kvWidth, h), (h, qWidth), (inter, h), (inter, h), (h, inter)]
        let widest = max(inter, qWidth, h)
        let input = Scratch(n * widest), output = Scratch(n * widest), weight = Scratch(widest * widest)
        let loraA = Scratch(rank * widest), loraB = Scratch(widest * rank), loraT = Scratch(n * rank)
        let head = Scratch(c.vocabSize * h), logits = Scratch(n * c.vocabSize)
        let queries = Scratch(n * qWidth), keysValues = Scratch(n * kvWidth), attended = Scratch(n * qWidth)
        let scores = (0..<(sequences * c.headCount)).map { _ in Scratch(length * length) }

        let projections = stopwatch.measure {
            for _ in 0..<c.layerCount {
                for (out, inp) in shapes {
                    BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: out, k: inp, alpha: 1, a: input.p, lda: inp,
                               b: weight.p, ldb: inp, beta: 0, c: output.p, ldc: out)
                }
            }
        }
        let lora = stopwatch.measure {
            for _ in 0..<c.layerCount {
                for (out, inp) in shapes {
                    BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: rank, k: inp, alpha: 1, a: input.p, lda: inp,
                               b: loraA.p, ldb: inp, beta: 0, c: loraT.p, ldc: rank)
                    BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: out, k: rank, alpha: 2, a: loraT.p, lda: rank,
                               b: loraB.p, ldb: rank, beta: 1, c: output.p, ldc: out)
                }
            }
        }
        let group = c.headCount / c.keyValueHeadCount, d = c.headDimension
        let attention = stopwatch.measure {
            for _ in 0..<c.layerCount {
                DispatchQueue.concurrentPerform(iterations: sequences * c.headCount) { job in
                    let b = job / c.headCount, head = job % c.headCount, kvHead = head / group
                    let s = scores[job].p
                    BLAS.sgemm(transposeA: false, transposeB: true, m: length, n: length, k: d, alpha: 1 / Float(d).squareRoot(),
                               a: queries.p + b * length * qWidth + head * d, lda: qWidth,
                               b: keysValues.p + b * length * kvWidth + kvHead * d, ldb: kvWidth, beta: 0, c: s, ldc: length)
                    BLAS.sgemm(transposeA: false, transposeB: false, m: length, n: d, k: length, alpha: 1, a: s, lda: length,
                               b: keysValues.p + b * length * kvWidth + kvHead * d, ldb: kvWidth,
                               beta: 0, c: attended.p + b * length * qWidth + head * d, ldc: qWidth)
                }
            }
        }
        let lmHead = stopwatch.measure {
            BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: c.vocabSize, k: h, alpha: 1, a: input.p, lda: h,
                       b: head.p, ldb: h, beta: 0, c: logits.p, ldc: c.vocabSize)
        }
        // What-if: q|k|v and gate|up as one sgemm each, with the LoRA A factors appended to those weights as extra
        // output rows (x·[W; A]ᵀ gives the projection and x·Aᵀ in one pass over x), then one sgemm per LoRA B into
        // its column slice of the fused output.
        let fusedGroups = [(outs: [qWidth, kvWidth, kvWidth], inp: h), (outs: [h], inp: qWidth),
                           (outs: [inter, inter], inp: h), (outs: [h], inp: inter)]
        let fusedWidest = max(qWidth + 2 * kvWidth, 2 * inter) + 3 * rank
        let fusedOutput = Scratch(n * fusedWidest), fusedWeight = Scratch(fusedWidest * widest)
        let fused = stopwatch.measure {
            for _ in 0..<c.layerCount {
                for group in fusedGroups {
                    let outWidth = group.outs.reduce(0, +), width = outWidth + group.outs.count * rank
                    BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: width, k: group.inp, alpha: 1, a: input.p,
                               lda: group.inp, b: fusedWeight.p, ldb: group.inp, beta: 0, c: fusedOutput.p, ldc: width)
                    var column = 0
                    for (i, out) in group.outs.enumerated() {
                        BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: out, k: rank, alpha: 2,
                                   a: fusedOutput.p + outWidth + i * rank, lda: width, b: loraB.p, ldb: rank,
                                   beta: 1, c: fusedOutput.p + column, ldc: width)
                        column += out
                    }
                }
            }
        }
        return [
            Phase(name: "projections (7 sgemms × \(c.layerCount) layers)", timing: projections),
            Phase(name: "LoRA terms (14 sgemms × \(c.layerCount) layers)", timing: lora),
            Phase(name: "attention QKᵀ, PV (\(2 * sequences * c.headCount) sgemms × \(c.layerCount) layers)", timing: attention),
            Phase(name: "LM head (1 sgemm)", timing: lmHead),
            Phase(name: "what-if: projections + LoRA fused (11 sgemms × \(c.layerCount))", timing: fused, whatIf: true),
        ]
    }
}

/// A heap buffer of floats shared with the worker threads of a phase; never freed (the process is short-lived).
struct Scratch: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>

    init(_ count: Int) {
        p = .allocate(capacity: count)
        // Small normal values: no denormals, no overflow.
        for i in 0..<count { p[i] = Float(i % 97) * 1e-3 + 1e-3 }
    }
}
