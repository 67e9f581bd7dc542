import Dispatch
import Tensors

/// One part of a forward pass: a contiguous range of a batch's sequences,
/// run through every block with its own scratch buffers.
///
/// The residual stream `x` is updated in place: the o and down projections
/// (and their LoRA terms) accumulate straight into it with β = 1, and the
/// gate‖up buffer holds `silu(gate) · up` in its gate half, which the down
/// projection reads with a stride. Nothing is zeroed or allocated per layer.
struct ForwardPass {
    /// Where the parts write: every part owns the rows of its sequences.
    struct Output: @unchecked Sendable {
        let logits: SharedPointer<Float>?
        /// The batch rows whose logits are wanted, ascending (nil: all rows).
        let logitRows: [Int]?
        let states: [SharedPointer<Float>]
        /// The pass ran every block: the last state gets the final norm.
        let finalNorm: Bool
    }

    let model: TransformerModel
    let batch: TokenBatch
    let sequences: Range<Int>
    let adapters: AdapterStack
    let layers: Int
    /// Spread BLAS and the element-wise loops over the cores (one part only),
    /// or run everything on the calling thread (one part per core).
    let spreadAcrossCores: Bool
    let cache: KVCache?
    /// RoPE tables covering the batch's length.
    let rope: (cos: [Float], sin: [Float])

    func run(into output: Output) {
        let c = model.config
        let h = c.hiddenSize
        let d = c.headDimension
        let firstRow = batch.offsets[sequences.lowerBound]
        let rows = batch.offsets[sequences.upperBound] - firstRow
        guard rows > 0 else { return }
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        let intermediate = c.intermediateSize
        let maxRank = adapters.groups.flatMap { $0.compactMap { $0?.rank } }.max() ?? 0
        let epsilon = Float(c.rmsNormEpsilon)

        let x = Scratch(rows * h)
        let normed = Scratch(rows * h)
        let qkv = Scratch(rows * qkvWidth)
        let attended = Scratch(rows * qWidth)
        let gateUp = Scratch(rows * 2 * intermediate)
        let loraScratch = Scratch(rows * maxRank)
        let widen = WeightWidening(model.weights, parallel: spreadAcrossCores)
        defer {
            for s in [x, normed, qkv, attended, gateUp, loraScratch] { s.free() }
            widen.free()
        }

        for r in 0..<rows {
            let id = batch.ids[firstRow + r]
            model.weights.embedding.widen(rows: id..<(id + 1), into: x.p + r * h)
        }
        if let first = output.states.first { (first.p + firstRow * h).update(from: x.p, count: rows * h) }

        for l in 0..<layers {
            let w = model.weights.blocks[l]
            norm(x, w.inputNorm, into: normed, rows: rows, epsilon: epsilon)
            ForwardPass.project(
                w[.qkv], adapters.group(.qkv, layer: l), input: normed.p, lda: h, rows: rows,
                output: qkv.p, ldc: qkvWidth, accumulate: false, scratch: loraScratch.p, widen: widen)
            rope.cos.withUnsafeBufferPointer { cosines in
                rope.sin.withUnsafeBufferPointer { sines in
                    batch.positions.withUnsafeBufferPointer { positions in
                        let cs = SharedPointer(cosines)
                        let ss = SharedPointer(sines)
                        let ps = SharedPointer(positions)
                        each(rows) { range in
                            for r in range {
                                let row = qkv.p + r * qkvWidth
                                let position = ps.p[firstRow + r]
                                Kernels.rope(
                                    row, heads: c.headCount, headDimension: d, position: position, cos: cs.p, sin: ss.p)
                                Kernels.rope(
                                    row + qWidth, heads: c.keyValueHeadCount, headDimension: d, position: position,
                                    cos: cs.p, sin: ss.p)
                            }
                        }
                    }
                }
            }
            if let cache {
                store(qkv, rows: rows, width: qkvWidth, qWidth: qWidth, kvWidth: kvWidth, layer: l, in: cache)
            }
            attention(qkv, into: attended)
            ForwardPass.project(
                w[.o], adapters.group(.o, layer: l), input: attended.p, lda: qWidth, rows: rows,
                output: x.p, ldc: h, accumulate: true, scratch: loraScratch.p, widen: widen)
            norm(x, w.postAttentionNorm, into: normed, rows: rows, epsilon: epsilon)
            ForwardPass.project(
                w[.gateUp], adapters.group(.gateUp, layer: l), input: normed.p, lda: h, rows: rows,
                output: gateUp.p, ldc: 2 * intermediate, accumulate: false, scratch: loraScratch.p, widen: widen)
            each(rows) { range in Kernels.siluMultiply(gateUp.p, rows: range, intermediate: intermediate) }
            ForwardPass.project(
                w[.down], adapters.group(.down, layer: l), input: gateUp.p, lda: 2 * intermediate, rows: rows,
                output: x.p, ldc: h, accumulate: true, scratch: loraScratch.p, widen: widen)
            if output.states.count > l + 1 {
                (output.states[l + 1].p + firstRow * h).update(from: x.p, count: rows * h)
            }
        }

        guard output.finalNorm else { return }
        norm(x, model.weights.finalNorm, into: normed, rows: rows, epsilon: epsilon)
        if let last = output.states.last { (last.p + firstRow * h).update(from: normed.p, count: rows * h) }
        guard let logits = output.logits else { return }
        guard let selected = output.logitRows else {
            ForwardPass.logits(
                model.weights.head, input: normed.p, rows: rows, output: logits.p + firstRow * c.vocabSize,
                parallel: spreadAcrossCores)
            return
        }
        // This part's wanted rows are a run of the ascending list: gather them, then one head product.
        let lo = selected.firstIndex { $0 >= firstRow } ?? selected.count
        let hi = selected.firstIndex { $0 >= firstRow + rows } ?? selected.count
        guard hi > lo else { return }
        let gathered = Scratch((hi - lo) * h)
        defer { gathered.free() }
        for (i, row) in selected[lo..<hi].enumerated() {
            (gathered.p + i * h).update(from: normed.p + (row - firstRow) * h, count: h)
        }
        ForwardPass.logits(
            model.weights.head, input: gathered.p, rows: hi - lo, output: logits.p + lo * c.vocabSize,
            parallel: spreadAcrossCores)
    }

    /// `output = input · headᵀ` (rows × vocab): in one sgemm when the head is
    /// resident, else a slice of vocabulary rows at a time, each widened into
    /// a scratch of at most 64 MB, so an 8B model's 2 GB head is never widened whole.
    static func logits(
        _ head: StoredMatrix, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        parallel: Bool
    ) {
        let h = head.columns
        let vocab = head.rows
        if let values = head.residentValues {
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: rows, n: vocab, k: h, alpha: 1, a: input, lda: h, b: values,
                ldb: h, beta: 0, c: output, ldc: vocab)
            return
        }
        let slice = Swift.max(1, Swift.min(vocab, (16 << 20) / Swift.max(h, 1)))
        let scratch = Scratch(slice * h)
        defer { scratch.free() }
        for start in stride(from: 0, to: vocab, by: slice) {
            let count = Swift.min(slice, vocab - start)
            head.widen(rows: start..<(start + count), into: scratch.p, parallel: parallel)
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: rows, n: count, k: h, alpha: 1, a: input, lda: h, b: scratch.p,
                ldb: h, beta: 0, c: output + start, ldc: vocab)
        }
    }

    /// Runs `body` over row chunks: on all cores for a single part, else here.
    private func each(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        if spreadAcrossCores { parallelChunks(count, body) } else { body(0..<count) }
    }

    private func norm(_ x: Scratch, _ weight: [Float], into out: Scratch, rows: Int, epsilon: Float) {
        let h = model.config.hiddenSize
        weight.withUnsafeBufferPointer { wp in
            let ws = SharedPointer(wp)
            each(rows) { range in Kernels.rmsNorm(x.p, ws.p, into: out.p, rows: range, width: h, epsilon: epsilon) }
        }
    }

    /// Causal, padding-masked softmax attention with grouped-query heads, for
    /// every sequence of the part: per block of query rows `QKᵀ`, a masked
    /// softmax over the keys each query may see, then `PV`, reading q, k and v
    /// in place from the q‖k‖v rows. A sequence's rows are its own (packed) or
    /// its tokens then its padding (padded): padding rows are queries too, so
    /// that every output row is written, but never keys.
    private func attention(_ qkv: Scratch, into out: Scratch) {
        let c = model.config
        let d = c.headDimension
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        let group = c.headCount / c.keyValueHeadCount
        let scale = 1 / Float(d).squareRoot()
        let window = c.slidingWindow
        let first = sequences.lowerBound
        let lengths = batch.lengths
        let offsets = batch.offsets
        let partStart = offsets[first]
        let job = { @Sendable (job: Int, scores: UnsafeMutablePointer<Float>) in
            let s = job / c.headCount
            let head = job % c.headCount
            let kvHead = head / group
            let real = lengths[first + s]
            let start = offsets[first + s] - partStart
            let queries = offsets[first + s + 1] - offsets[first + s]
            let rows = qkv.p + start * qkvWidth
            let span = window ?? Int.max
            // Query i sees keys lo(i)...hi(i); both grow with i, so a block's keys are lo(first row)..<hi(last row) + 1.
            func lo(_ i: Int) -> Int { i >= span ? i - span + 1 : 0 }
            func hi(_ i: Int) -> Int { Swift.min(i, real - 1) }
            for top in stride(from: 0, to: queries, by: TransformerModel.attentionBlock) {
                let bottom = Swift.min(top + TransformerModel.attentionBlock, queries)
                let height = bottom - top
                // At least one key, so that rows seeing none (lo > hi) still get their zero output through PV.
                let keyEnd = Swift.max(hi(bottom - 1) + 1, 1)
                let keyStart = Swift.min(lo(top), keyEnd - 1)
                let keys = keyEnd - keyStart
                BLAS.sgemm(
                    transposeA: false, transposeB: true, m: height, n: keys, k: d, alpha: scale,
                    a: rows + top * qkvWidth + head * d, lda: qkvWidth,
                    b: rows + keyStart * qkvWidth + qWidth + kvHead * d, ldb: qkvWidth,
                    beta: 0, c: scores, ldc: keys)
                for i in top..<bottom {
                    Kernels.maskedSoftmax(
                        scores + (i - top) * keys, count: keys, visible: lo(i) - keyStart, hi(i) - keyStart)
                }
                BLAS.sgemm(
                    transposeA: false, transposeB: false, m: height, n: d, k: keys, alpha: 1,
                    a: scores, lda: keys, b: rows + keyStart * qkvWidth + qWidth + kvWidth + kvHead * d, ldb: qkvWidth,
                    beta: 0, c: out.p + (start + top) * qWidth + head * d, ldc: qWidth)
            }
        }
        let jobs = sequences.count * c.headCount
        // One block of query rows against at most every key of the longest sequence.
        let scoreCount = Swift.min(batch.length, TransformerModel.attentionBlock) * batch.length
        if spreadAcrossCores {
            DispatchQueue.concurrentPerform(iterations: jobs) { j in
                let scores = Scratch(scoreCount)
                job(j, scores.p)
                scores.free()
            }
        } else {
            let scores = Scratch(scoreCount)
            for j in 0..<jobs { job(j, scores.p) }
            scores.free()
        }
    }

    /// Copies the keys (after RoPE) and values of a one-sequence part into the cache.
    private func store(_ qkv: Scratch, rows: Int, width: Int, qWidth: Int, kvWidth: Int, layer: Int, in cache: KVCache)
    {
        var keys = [Float]()
        var values = [Float]()
        keys.reserveCapacity(rows * kvWidth)
        values.reserveCapacity(rows * kvWidth)
        for r in 0..<rows {
            let row = qkv.p + r * width
            keys.append(contentsOf: UnsafeBufferPointer(start: row + qWidth, count: kvWidth))
            values.append(contentsOf: UnsafeBufferPointer(start: row + qWidth + kvWidth, count: kvWidth))
        }
        cache.keys[layer] = keys
        cache.values[layer] = values
    }

    /// `output (=|+=) input · Wᵀ + bias + Σ scale · (input · Aᵀ) · Bᵀ` for one
    /// projection group: one sgemm for the stacked weights, one for the
    /// stacked A factors, and one rank-r update per LoRA term.
    ///
    /// - Parameters:
    ///   - accumulate: add to `output` (the residual stream) instead of overwriting it.
    ///   - scratch: at least rows × the group's LoRA rank floats.
    static func project(
        _ group: GroupWeights, _ lora: LoRAGroup?, input: UnsafePointer<Float>, lda: Int, rows: Int,
        output: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, scratch: UnsafeMutablePointer<Float>,
        widen: WeightWidening
    ) {
        if let bias = group.bias {
            for r in 0..<rows {
                let row = output + r * ldc
                if accumulate {
                    for i in 0..<group.rows { row[i] += bias[i] }
                } else {
                    row.update(from: bias, count: group.rows)
                }
            }
        }
        group.withFloats(scratch: widen.scratch, parallel: widen.parallel) { wp in
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: rows, n: group.rows, k: group.columns, alpha: 1,
                a: input, lda: lda, b: wp, ldb: group.columns,
                beta: accumulate || group.bias != nil ? 1 : 0, c: output, ldc: ldc)
        }
        guard let lora else { return }
        lora.a.withUnsafeBufferPointer { ap in
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: rows, n: lora.rank, k: group.columns, alpha: 1,
                a: input, lda: lda, b: ap.baseAddress!, ldb: group.columns, beta: 0, c: scratch, ldc: lora.rank)
        }
        for segment in lora.segments {
            segment.b.withUnsafeBufferPointer { bp in
                BLAS.sgemm(
                    transposeA: false, transposeB: true, m: rows, n: segment.width, k: segment.rank,
                    alpha: segment.scale,
                    a: scratch + segment.row, lda: lora.rank, b: bp.baseAddress!, ldb: segment.rank,
                    beta: 1, c: output + segment.column, ldc: ldc)
            }
        }
    }
}

/// Where a pass widens stored projection weights (``WeightResidency/stored``):
/// one scratch for the largest group, filled over all cores when `parallel`;
/// none when the weights are resident. Freed by its owner.
struct WeightWidening {
    let scratch: UnsafeMutablePointer<Float>?
    let parallel: Bool

    init(_ weights: ModelWeights, parallel: Bool) {
        scratch = weights.isWidened ? nil : .allocate(capacity: Swift.max(weights.largestGroup, 1))
        self.parallel = parallel
    }

    func free() { scratch?.deallocate() }
}

/// A scratch buffer of floats, uninitialized, freed by its owner.
struct Scratch: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    init(_ count: Int) { p = .allocate(capacity: Swift.max(count, 1)) }
    func free() { p.deallocate() }
}
