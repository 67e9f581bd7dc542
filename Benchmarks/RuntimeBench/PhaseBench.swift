import Dispatch
import Tensors
import Transformer

/// The BLAS work of one forward pass, timed phase by phase.
///
/// The runtime's own phases are internal to the `Transformer` module, so this
/// replays the matrix products a forward pass makes (same shapes, same calls,
/// same split of the batch into one part per thread with single-threaded BLAS)
/// on scratch buffers: per layer one sgemm per projection group (q‖k‖v, o,
/// gate‖up, down), one per group for the stacked LoRA A factors and one per
/// LoRA B, two per sequence and head for attention; then the LM head. What the
/// measured forward pass takes beyond their sum is the runtime's non-BLAS
/// work: norms, RoPE, softmax, SiLU and copies.
///
/// Each phase also counts its floating-point operations, so that its rate per
/// core can be set beside ``referenceRate(stopwatch:)``: what the loaded
/// OpenBLAS kernels reach on one large square sgemm.
enum PhaseBench {
    /// One phase of the replay.
    struct Phase {
        let name: String
        let timing: Timing
        /// Multiply-adds count 2, over all parts.
        let flops: Double
        /// The parts that ran concurrently, one core each.
        let parts: Int

        /// GFLOP/s per core of the median run.
        var gigaflopsPerCore: Double { flops / timing.median / Double(parts) / 1e9 }
    }

    /// GFLOP/s of a 1024 × 1024 × 1024 sgemm on one thread: the rate the
    /// loaded kernels reach when nothing but the kernel matters, for reading
    /// the phases' rates against.
    static func referenceRate(stopwatch: Stopwatch) -> Double {
        let n = 1024
        let a = Scratch(n * n)
        let b = Scratch(n * n)
        let c = Scratch(n * n)
        let saved = BLAS.threadCount
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(saved) }
        let timing = stopwatch.measure {
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: n, n: n, k: n, alpha: 1, a: a.p, lda: n,
                b: b.p, ldb: n, beta: 0, c: c.p, ldc: n)
        }
        return 2 * Double(n * n * n) / timing.median / 1e9
    }

    /// Times each phase of the replay for `config` on a `sequences` × `length`
    /// batch with rank-`rank` LoRA on all seven projections (none for rank 0), split into `parts`.
    static func run(
        config c: ModelConfig, sequences: Int, length: Int, rank: Int, parts requested: Int,
        stopwatch: Stopwatch
    ) -> [Phase] {
        let parts = max(1, min(requested, sequences))
        let rows = (sequences / parts) * length
        let h = c.hiddenSize
        let inter = c.intermediateSize
        let qWidth = c.headCount * c.headDimension
        let kvWidth = c.keyValueHeadCount * c.headDimension
        let qkvWidth = qWidth + 2 * kvWidth
        // Each group: (output widths of its members, input width, input stride).
        let groups = [
            (outs: [qWidth, kvWidth, kvWidth], inp: h, lda: h), (outs: [h], inp: qWidth, lda: qWidth),
            (outs: [inter, inter], inp: h, lda: h), (outs: [h], inp: inter, lda: 2 * inter),
        ]
        let widest = max(qkvWidth, 2 * inter, h)
        struct Buffers: @unchecked Sendable {
            let input: Scratch, output: Scratch, loraT: Scratch, scores: Scratch, logits: Scratch
        }
        let buffers = (0..<parts).map { _ in
            Buffers(
                input: Scratch(rows * widest), output: Scratch(rows * widest), loraT: Scratch(rows * 3 * rank),
                scores: Scratch(length * length), logits: Scratch(rows * c.vocabSize))
        }
        let weight = Scratch(widest * widest)
        let loraA = Scratch(3 * rank * widest)
        let loraB = Scratch(widest * rank)
        let head = Scratch(c.vocabSize * h)

        // Runs `body` once per part, each on its own thread with one BLAS thread, as the runtime does.
        func perPart(_ body: @escaping @Sendable (Buffers) -> Void) -> Timing {
            stopwatch.measure {
                guard parts > 1 else {
                    body(buffers[0])
                    return
                }
                let saved = BLAS.threadCount
                BLAS.setThreadCount(1)
                defer { BLAS.setThreadCount(saved) }
                DispatchQueue.concurrentPerform(iterations: parts) { body(buffers[$0]) }
            }
        }
        let layers = c.layerCount
        let projections = perPart { b in
            for _ in 0..<layers {
                for g in groups {
                    let out = g.outs.reduce(0, +)
                    BLAS.sgemm(
                        transposeA: false, transposeB: true, m: rows, n: out, k: g.inp, alpha: 1, a: b.input.p,
                        lda: g.lda,
                        b: weight.p, ldb: g.inp, beta: 0, c: b.output.p, ldc: out)
                }
            }
        }
        // Rank 0 (no adapter, the real-model mode): no LoRA phase.
        let lora: Timing? =
            rank == 0
            ? nil
            : perPart { b in
                for _ in 0..<layers {
                    for g in groups {
                        let out = g.outs.reduce(0, +)
                        let stacked = g.outs.count * rank
                        BLAS.sgemm(
                            transposeA: false, transposeB: true, m: rows, n: stacked, k: g.inp, alpha: 1, a: b.input.p,
                            lda: g.lda, b: loraA.p, ldb: g.inp, beta: 0, c: b.loraT.p, ldc: stacked)
                        var column = 0
                        for (i, width) in g.outs.enumerated() {
                            BLAS.sgemm(
                                transposeA: false, transposeB: true, m: rows, n: width, k: rank, alpha: 2,
                                a: b.loraT.p + i * rank, lda: stacked, b: loraB.p, ldb: rank,
                                beta: 1, c: b.output.p + column, ldc: out)
                            column += width
                        }
                    }
                }
            }
        let group = c.headCount / c.keyValueHeadCount
        let d = c.headDimension
        // The runtime's blocks of query rows; each sees the keys up to its last row (no padding, no window here).
        let blocks = stride(from: 0, to: length, by: TransformerModel.attentionBlock).map {
            $0..<min($0 + TransformerModel.attentionBlock, length)
        }
        let perPartSequences = sequences / parts
        let attention = perPart { b in
            for _ in 0..<layers {
                for job in 0..<(perPartSequences * c.headCount) {
                    let s = job / c.headCount
                    let headIndex = job % c.headCount
                    let kvHead = headIndex / group
                    let base = b.input.p + s * length * qkvWidth
                    for rows in blocks {
                        BLAS.sgemm(
                            transposeA: false, transposeB: true, m: rows.count, n: rows.upperBound, k: d,
                            alpha: 1 / Float(d).squareRoot(),
                            a: base + rows.lowerBound * qkvWidth + headIndex * d, lda: qkvWidth,
                            b: base + qWidth + kvHead * d,
                            ldb: qkvWidth, beta: 0, c: b.scores.p, ldc: rows.upperBound)
                        BLAS.sgemm(
                            transposeA: false, transposeB: false, m: rows.count, n: d, k: rows.upperBound, alpha: 1,
                            a: b.scores.p,
                            lda: rows.upperBound, b: base + qWidth + kvWidth + kvHead * d, ldb: qkvWidth,
                            beta: 0, c: b.output.p + (s * length + rows.lowerBound) * qWidth + headIndex * d,
                            ldc: qWidth)
                    }
                }
            }
        }
        let lmHead = perPart { b in
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: rows, n: c.vocabSize, k: h, alpha: 1, a: b.input.p, lda: h,
                b: head.p, ldb: h, beta: 0, c: b.logits.p, ldc: c.vocabSize)
        }
        let split = parts > 1 ? ", \(parts) parts" : ""
        // Multiply-adds of all parts, × 2.
        func perLayer(_ f: (_ outs: [Int], _ inp: Int) -> Int) -> Double {
            2 * Double(parts * layers) * Double(groups.map { f($0.outs, $0.inp) }.reduce(0, +))
        }
        let projectionFlops = perLayer { outs, inp in rows * outs.reduce(0, +) * inp }
        let loraFlops = perLayer { outs, inp in rows * outs.count * rank * inp + rows * outs.reduce(0, +) * rank }
        let blockKeys = blocks.map { $0.count * $0.upperBound }.reduce(0, +)
        let attentionFlops = 2 * Double(layers * sequences * c.headCount) * Double(2 * blockKeys * d)
        let headFlops = 2 * Double(parts * rows * c.vocabSize * h)
        var phases = [
            Phase(
                name: "projection groups (4 sgemms × \(layers) layers\(split))", timing: projections,
                flops: projectionFlops, parts: parts)
        ]
        if let lora {
            phases.append(
                Phase(
                    name: "LoRA terms (4 A + 7 B sgemms × \(layers) layers)", timing: lora, flops: loraFlops,
                    parts: parts))
        }
        return phases + [
            Phase(
                name: "attention QKᵀ, PV (\(2 * sequences * c.headCount * blocks.count) sgemms × \(layers) layers)",
                timing: attention,
                flops: attentionFlops, parts: parts),
            Phase(name: "LM head (1 sgemm per part)", timing: lmHead, flops: headFlops, parts: parts),
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
