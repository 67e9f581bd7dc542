import AdapterFormat
import Dispatch
import Foundation
import Tensors

/// What a forward pass returns.
public struct ForwardOutput: Sendable {
    public let batch: Int
    public let length: Int
    /// batch × length × vocab, or empty when the pass stopped early.
    public let logits: [Float]
    /// As transformers' `output_hidden_states`: entry 0 the embeddings, entry k
    /// the output of block k, and the last entry (k = L) with the final norm
    /// applied. Each is batch × length × hidden. Empty unless requested.
    public let hiddenStates: [[Float]]
}

/// A Llama-family decoder (Llama, Qwen2, Mistral) on the CPU.
///
/// Every projection is one sgemm over all tokens of the batch; attention is
/// two sgemms per sequence and head, run in parallel across them; norms and
/// activations are parallel loops over tokens.
public final class TransformerModel: @unchecked Sendable {
    public let config: ModelConfig
    public let weights: ModelWeights
    public let directory: String
    /// cos/sin tables: maxLength × (headDimension / 2).
    private var ropeCos: [Float] = []
    private var ropeSin: [Float] = []

    public init(directory: String) throws {
        self.directory = directory
        config = try ModelConfig(directory: directory)
        weights = try ModelWeights(directory: directory, config: config)
    }

    func ensureRope(_ length: Int) {
        let half = config.headDimension / 2
        guard ropeCos.count < length * half else { return }
        let inv = config.inverseFrequencies.map(Float.init)
        var cos = [Float](repeating: 0, count: length * half), sin = cos
        for t in 0..<length {
            for i in 0..<half {
                // transformers multiplies in float32, then takes cos/sin in float32.
                let angle = Float(t) * inv[i]
                cos[t * half + i] = Foundation.cos(angle)
                sin[t * half + i] = Foundation.sin(angle)
            }
        }
        ropeCos = cos
        ropeSin = sin
    }

    /// Runs the decoder over a right-padded batch.
    ///
    /// - Parameters:
    ///   - adapters: LoRA terms applied unmerged.
    ///   - hiddenStates: also return every layer's hidden states.
    ///   - stopAfter: stop after this many blocks (the alignment loss needs
    ///     only `hidden_states[ℓ]`); then no logits are computed and the last
    ///     hidden state returned is block ℓ's output, without the final norm.
    public func forward(_ batch: TokenBatch, adapters: AdapterStack = .empty, hiddenStates: Bool = false,
                        stopAfter: Int? = nil) throws -> ForwardOutput {
        try forward(batch, adapters: adapters, hiddenStates: hiddenStates, stopAfter: stopAfter, cache: nil)
    }

    func forward(_ batch: TokenBatch, adapters: AdapterStack, hiddenStates: Bool, stopAfter: Int?,
                 cache: KVCache?) throws -> ForwardOutput {
        let c = config
        let n = batch.count * batch.length, h = c.hiddenSize
        guard n > 0 else { return ForwardOutput(batch: batch.count, length: batch.length, logits: [], hiddenStates: []) }
        for id in batch.ids where id < 0 || id >= c.vocabSize {
            throw FormatError(.invalidContent, "token id \(id) is outside the vocabulary of \(c.vocabSize)", path: directory)
        }
        ensureRope(batch.length)
        var x = [Float](repeating: 0, count: n * h)
        weights.embedding.values.withUnsafeBufferPointer { e in
            x.withUnsafeMutableBufferPointer { out in
                for (row, id) in batch.ids.enumerated() {
                    (out.baseAddress! + row * h).update(from: e.baseAddress! + id * h, count: h)
                }
            }
        }
        var states: [[Float]] = hiddenStates ? [x] : []
        let layers = min(stopAfter ?? c.layerCount, c.layerCount)
        for l in 0..<layers {
            try block(l, &x, batch, adapters.terms.indices.contains(l) ? adapters.terms[l] : [:], cache: cache)
            if hiddenStates { states.append(x) }
        }
        if layers < c.layerCount {
            return ForwardOutput(batch: batch.count, length: batch.length, logits: [], hiddenStates: states)
        }
        let normed = rmsNorm(x, weights.finalNorm, rows: n)
        if hiddenStates { states[states.count - 1] = normed }
        var logits = [Float](repeating: 0, count: n * c.vocabSize)
        project(normed, rows: n, weights.head, into: &logits, bias: nil)
        return ForwardOutput(batch: batch.count, length: batch.length, logits: logits, hiddenStates: states)
    }

    // MARK: - Blocks

    private func block(_ l: Int, _ x: inout [Float], _ batch: TokenBatch, _ lora: [String: [AdapterStack.Term]],
                       cache: KVCache?) throws {
        let c = config, w = weights.blocks[l]
        let n = batch.count * batch.length
        let qWidth = c.headCount * c.headDimension, kvWidth = c.keyValueHeadCount * c.headDimension
        let hIn = rmsNorm(x, w.inputNorm, rows: n)
        var q = [Float](repeating: 0, count: n * qWidth)
        var k = [Float](repeating: 0, count: n * kvWidth)
        var v = [Float](repeating: 0, count: n * kvWidth)
        projectWithAdapters(hIn, rows: n, "q_proj", w, lora, into: &q)
        projectWithAdapters(hIn, rows: n, "k_proj", w, lora, into: &k)
        projectWithAdapters(hIn, rows: n, "v_proj", w, lora, into: &v)
        let positions = (0..<n).map { $0 % batch.length }
        applyRope(&q, heads: c.headCount, positions: positions)
        applyRope(&k, heads: c.keyValueHeadCount, positions: positions)
        if let cache {
            cache.keys[l] = k
            cache.values[l] = v
        }
        let attended = attention(q, k, v, batch: batch)
        var attnOut = [Float](repeating: 0, count: n * c.hiddenSize)
        projectWithAdapters(attended, rows: n, "o_proj", w, lora, into: &attnOut)
        add(&x, attnOut)
        mlp(l, &x, rows: n, lora)
    }

    /// The SwiGLU half of a block, with its residual.
    func mlp(_ l: Int, _ x: inout [Float], rows n: Int, _ lora: [String: [AdapterStack.Term]]) {
        let c = config, w = weights.blocks[l]
        let h2 = rmsNorm(x, w.postAttentionNorm, rows: n)
        var gate = [Float](repeating: 0, count: n * c.intermediateSize)
        var up = gate
        projectWithAdapters(h2, rows: n, "gate_proj", w, lora, into: &gate)
        projectWithAdapters(h2, rows: n, "up_proj", w, lora, into: &up)
        gate.withUnsafeMutableBufferPointer { gp in
            up.withUnsafeBufferPointer { up in
                let g = Shared(gp), u = Shared(up)
                parallelChunks(gp.count) { range in
                    for i in range {
                        let z = g.p[i]
                        g.p[i] = z / (1 + expf(-z)) * u.p[i]
                    }
                }
            }
        }
        var down = [Float](repeating: 0, count: n * c.hiddenSize)
        projectWithAdapters(gate, rows: n, "down_proj", w, lora, into: &down)
        add(&x, down)
    }

    /// `out = input · Wᵀ (+ bias) + Σ scale · (input · Aᵀ) · Bᵀ`.
    func projectWithAdapters(_ input: [Float], rows: Int, _ name: String, _ w: BlockWeights,
                                     _ lora: [String: [AdapterStack.Term]], into out: inout [Float]) {
        let weight = w.projections[name]!
        project(input, rows: rows, weight, into: &out, bias: w.biases[name])
        guard let terms = lora[name], !terms.isEmpty else { return }
        input.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                for term in terms where term.rank > 0 {
                    var t = [Float](repeating: 0, count: rows * term.rank)
                    term.a.withUnsafeBufferPointer { a in
                        t.withUnsafeMutableBufferPointer { tp in
                            BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: term.rank, k: weight.columns, alpha: 1,
                                       a: x.baseAddress!, lda: weight.columns, b: a.baseAddress!, ldb: weight.columns,
                                       beta: 0, c: tp.baseAddress!, ldc: term.rank)
                        }
                    }
                    term.b.withUnsafeBufferPointer { b in
                        t.withUnsafeBufferPointer { tp in
                            BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: weight.rows, k: term.rank, alpha: term.scale,
                                       a: tp.baseAddress!, lda: term.rank, b: b.baseAddress!, ldb: term.rank,
                                       beta: 1, c: y.baseAddress!, ldc: weight.rows)
                        }
                    }
                }
            }
        }
    }

    /// `out = input · Wᵀ (+ bias)` for all rows at once.
    func project(_ input: [Float], rows: Int, _ weight: Weight, into out: inout [Float], bias: [Float]?) {
        input.withUnsafeBufferPointer { x in
            weight.values.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { y in
                    if let bias {
                        for r in 0..<rows { (y.baseAddress! + r * weight.rows).update(from: bias, count: weight.rows) }
                    }
                    BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: weight.rows, k: weight.columns, alpha: 1,
                               a: x.baseAddress!, lda: weight.columns, b: wp.baseAddress!, ldb: weight.columns,
                               beta: bias == nil ? 0 : 1, c: y.baseAddress!, ldc: weight.rows)
                }
            }
        }
    }

    /// RMSNorm in float32, as transformers computes it.
    func rmsNorm(_ x: [Float], _ weight: [Float], rows: Int) -> [Float] {
        let h = config.hiddenSize
        let eps = Float(config.rmsNormEpsilon)
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    let xs = Shared(xp), ws = Shared(wp), os = Shared(op)
                    parallelChunks(rows) { range in
                        for r in range {
                            let row = xs.p + r * h, dst = os.p + r * h
                            var sum: Float = 0
                            for i in 0..<h { sum += row[i] * row[i] }
                            let inv = 1 / (sum / Float(h) + eps).squareRoot()
                            for i in 0..<h { dst[i] = ws.p[i] * (row[i] * inv) }
                        }
                    }
                }
            }
        }
        return out
    }

    func add(_ x: inout [Float], _ y: [Float]) {
        x.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                for i in 0..<xp.count { xp[i] += yp[i] }
            }
        }
    }

    /// Rotary embedding with transformers' `rotate_half` layout: dimension i
    /// pairs with i + d/2. Position = index within the sequence.
    func applyRope(_ m: inout [Float], heads: Int, positions: [Int]) {
        let d = config.headDimension, half = d / 2, width = heads * d
        ropeCos.withUnsafeBufferPointer { cp in
            ropeSin.withUnsafeBufferPointer { sp in
                m.withUnsafeMutableBufferPointer { mp in
                    positions.withUnsafeBufferPointer { pp in
                    let cs = Shared(cp), ss = Shared(sp), ms = Shared(mp), ps = Shared(pp)
                    parallelChunks(pp.count) { range in
                        for row in range {
                            let t = ps.p[row]
                            let cosRow = cs.p + t * half, sinRow = ss.p + t * half
                            for head in 0..<heads {
                                let v = ms.p + row * width + head * d
                                for i in 0..<half {
                                    let a = v[i], b = v[i + half]
                                    v[i] = a * cosRow[i] - b * sinRow[i]
                                    v[i + half] = b * cosRow[i] + a * sinRow[i]
                                }
                            }
                        }
                    }
                    }
                }
            }
        }
    }

    /// Causal, padding-masked softmax attention with grouped-query heads.
    private func attention(_ q: [Float], _ k: [Float], _ v: [Float], batch: TokenBatch) -> [Float] {
        let c = config, d = c.headDimension, t = batch.length
        let qWidth = c.headCount * d, kvWidth = c.keyValueHeadCount * d
        let group = c.headCount / c.keyValueHeadCount
        let scale = 1 / Float(d).squareRoot()
        var out = [Float](repeating: 0, count: batch.count * t * qWidth)
        let window = c.slidingWindow
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    out.withUnsafeMutableBufferPointer { op in
                        batch.mask.withUnsafeBufferPointer { mask in
                            let jobs = batch.count * c.headCount
                            let qs = Shared(qp), ks = Shared(kp), vs = Shared(vp), os = Shared(op), ms = Shared(mask)
                            DispatchQueue.concurrentPerform(iterations: jobs) { job in
                                let b = job / c.headCount, head = job % c.headCount, kvHead = head / group
                                var scores = [Float](repeating: 0, count: t * t)
                                scores.withUnsafeMutableBufferPointer { s in
                                    BLAS.sgemm(transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: scale,
                                               a: qs.p + b * t * qWidth + head * d, lda: qWidth,
                                               b: ks.p + b * t * kvWidth + kvHead * d, ldb: kvWidth,
                                               beta: 0, c: s.baseAddress!, ldc: t)
                                    for i in 0..<t {
                                        let row = s.baseAddress! + i * t
                                        var peak = -Float.infinity
                                        for j in 0..<t {
                                            let visible = j <= i && ms.p[b * t + j] && (window.map { i - j < $0 } ?? true)
                                            if !visible { row[j] = -.infinity } else if row[j] > peak { peak = row[j] }
                                        }
                                        var sum: Float = 0
                                        for j in 0..<t {
                                            let e = row[j] == -.infinity ? 0 : expf(row[j] - peak)
                                            row[j] = e
                                            sum += e
                                        }
                                        let inv = sum > 0 ? 1 / sum : 0
                                        for j in 0..<t { row[j] *= inv }
                                    }
                                    BLAS.sgemm(transposeA: false, transposeB: false, m: t, n: d, k: t, alpha: 1,
                                               a: s.baseAddress!, lda: t,
                                               b: vs.p + b * t * kvWidth + kvHead * d, ldb: kvWidth,
                                               beta: 0, c: os.p + b * t * qWidth + head * d, ldc: qWidth)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// A raw pointer shared with worker threads that touch disjoint parts of it.
struct Shared<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ buffer: UnsafeMutableBufferPointer<T>) { p = buffer.baseAddress! }
    init(_ buffer: UnsafeBufferPointer<T>) { p = UnsafeMutablePointer(mutating: buffer.baseAddress!) }
}

/// Runs `body` over `0..<count` split into a few contiguous chunks on all cores.
func parallelChunks(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount * 2))
    guard chunks > 1, count >= 64 else { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((c * count / chunks)..<((c + 1) * count / chunks))
    }
}
