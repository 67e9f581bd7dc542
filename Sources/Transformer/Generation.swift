import AdapterFormat
import Foundation
import Tensors

/// Keys (after RoPE) and values of every layer for one sequence.
final class KVCache {
    /// `keys[layer]`: positions × (kvHeads · headDim).
    var keys: [[Float]]
    var values: [[Float]]

    init(layers: Int) {
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

}

extension TransformerModel {
    /// Greedy decoding with a KV cache: the prompt is run once, then each new
    /// token costs one row through every projection and attention over the
    /// cached keys. Stops at any of `stopTokens` (which is kept in the
    /// output) or after `maxNewTokens`.
    ///
    /// - Returns: the generated ids, without the prompt.
    ///
    /// - Parameter serial: decode on the calling thread only, for callers that
    ///   decode several prompts at once (they should also run BLAS on one thread).
    public func generate(
        prompt: [Int], maxNewTokens: Int, stopTokens: Set<Int>,
        adapters: AdapterStack = .empty, serial: Bool = false
    ) throws -> [Int] {
        try generate(
            prompts: [prompt], maxNewTokens: [maxNewTokens], stopTokens: stopTokens, adapters: adapters,
            serial: serial)[0]
    }

    /// Greedy decoding of several prompts together: each is prefilled on its
    /// own, then every step decodes one token of each unfinished prompt as one
    /// row of the same products, so the weights are read once a step for all
    /// of them instead of once per prompt (decoding one row at a time is bound
    /// by memory, not arithmetic). Each prompt stops at any of `stopTokens`
    /// (kept in its output) or after its own `maxNewTokens`. The outputs are
    /// what ``generate(prompt:maxNewTokens:stopTokens:adapters:serial:)``
    /// gives each prompt alone, up to the rounding of products over more rows
    /// (none with OpenBLAS, whose kernels sum each entry alike for any row
    /// count; a BLAS that does not could flip a near tie). The group's KV
    /// caches live until each prompt finishes: size groups by memory for
    /// long outputs of large models.
    ///
    /// - Returns: per prompt, the generated ids without the prompt (empty for
    ///   an empty prompt or a budget of 0).
    public func generate(
        prompts: [[Int]], maxNewTokens: [Int], stopTokens: Set<Int>,
        adapters: AdapterStack = .empty, serial: Bool = false
    ) throws -> [[Int]] {
        guard maxNewTokens.count == prompts.count else {
            throw FormatError(
                .invalidContent, "\(maxNewTokens.count) token budgets for \(prompts.count) prompts", path: path)
        }
        var generated = [[Int]](repeating: [], count: prompts.count)
        // Whether prompt i goes on: under its budget and not stopped by its last token.
        func continues(_ i: Int) -> Bool {
            generated[i].count < maxNewTokens[i] && !(generated[i].last.map(stopTokens.contains) ?? true)
        }
        // Size the RoPE tables once, not one position per step, for the prompts that will decode.
        _ = ropeTables(
            covering: zip(prompts, maxNewTokens).filter { !$0.isEmpty && $1 > 0 }.map { $0.count + $1 }.max() ?? 0)
        var active: [(prompt: Int, cache: KVCache)] = []
        for (i, prompt) in prompts.enumerated() where !prompt.isEmpty && maxNewTokens[i] > 0 {
            let cache = KVCache(layers: config.layerCount)
            let prefill = try forward(
                TokenBatch([prompt]), adapters: adapters, hiddenStates: false, stopAfter: nil, cache: cache,
                serial: serial, logitRows: [prompt.count - 1])
            generated[i] = [argmax(prefill.logits, row: 0)]
            if continues(i) { active.append((i, cache)) }
        }
        let widen = WeightWidening(weights, parallel: !serial)
        defer { widen.free() }
        while !active.isEmpty {
            // Each prompt's newest token, at the position after its prompt and the tokens before it.
            let logits = try step(
                tokens: active.map { generated[$0.prompt].last ?? 0 },
                positions: active.map { prompts[$0.prompt].count + generated[$0.prompt].count - 1 },
                caches: active.map(\.cache), adapters: adapters, widen: widen)
            for (row, a) in active.enumerated() { generated[a.prompt].append(argmax(logits, row: row)) }
            active.removeAll { !continues($0.prompt) }
        }
        return generated
    }

    func argmax(_ logits: [Float], row: Int) -> Int {
        let v = config.vocabSize
        var best = -Float.infinity
        var arg = 0
        for i in 0..<v where logits[row * v + i] > best {
            best = logits[row * v + i]
            arg = i
        }
        return arg
    }

    /// One decoding step of several sequences: token `i` at `positions[i]`,
    /// appended to `caches[i]`. The projections run as one product over all
    /// rows; attention per row over its own cache. Returns the logits, one
    /// row per token.
    func step(
        tokens: [Int], positions: [Int], caches: [KVCache], adapters: AdapterStack, widen: WeightWidening
    ) throws -> [Float] {
        let c = config
        let h = c.hiddenSize
        let d = c.headDimension
        let rows = tokens.count
        guard rows > 0, positions.count == rows, caches.count == rows else {
            throw FormatError(
                .invalidContent,
                "a decoding step needs one position and one cache per token: \(rows) tokens, "
                    + "\(positions.count) positions, \(caches.count) caches", path: path)
        }
        for token in tokens where token < 0 || token >= c.vocabSize {
            throw FormatError(.invalidContent, "token id \(token) is outside the vocabulary", path: path)
        }
        let rope = ropeTables(covering: (positions.max() ?? 0) + 1)
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let group = c.headCount / c.keyValueHeadCount
        let qkvWidth = qWidth + 2 * kvWidth
        let intermediate = c.intermediateSize
        let epsilon = Float(c.rmsNormEpsilon)
        let scale = 1 / Float(d).squareRoot()
        let maxRank = adapters.groups.flatMap { $0.compactMap { $0?.rank } }.max() ?? 0
        var x = [Float](unsafeUninitializedCapacity: rows * h) { buffer, initialized in
            for (r, token) in tokens.enumerated() {
                weights.embedding.widen(rows: token..<(token + 1), into: buffer.baseAddress! + r * h)
            }
            initialized = rows * h
        }
        var normed = [Float](repeating: 0, count: rows * h)
        var qkv = [Float](repeating: 0, count: rows * qkvWidth)
        var attended = [Float](repeating: 0, count: rows * qWidth)
        var gateUp = [Float](repeating: 0, count: rows * 2 * intermediate)
        var scratch = [Float](repeating: 0, count: rows * max(maxRank, 1))
        for l in 0..<c.layerCount {
            let w = weights.blocks[l]
            Kernels.rmsNorm(x, w.inputNorm, into: &normed, rows: 0..<rows, width: h, epsilon: epsilon)
            ForwardPass.project(
                w[.qkv], adapters.group(.qkv, layer: l), input: normed, lda: h, rows: rows,
                output: &qkv, ldc: qkvWidth, accumulate: false, scratch: &scratch, widen: widen)
            rope.cos.withUnsafeBufferPointer { cp in
                rope.sin.withUnsafeBufferPointer { sp in
                    qkv.withUnsafeMutableBufferPointer { m in
                        for (r, position) in positions.enumerated() {
                            let row = m.baseAddress! + r * qkvWidth
                            Kernels.rope(
                                row, heads: c.headCount, headDimension: d, position: position,
                                cos: cp.baseAddress!, sin: sp.baseAddress!)
                            Kernels.rope(
                                row + qWidth, heads: c.keyValueHeadCount, headDimension: d, position: position,
                                cos: cp.baseAddress!, sin: sp.baseAddress!)
                        }
                    }
                }
            }
            for i in attended.indices { attended[i] = 0 }
            for (r, cache) in caches.enumerated() {
                let row = r * qkvWidth
                cache.keys[l] += qkv[(row + qWidth)..<(row + qWidth + kvWidth)]
                cache.values[l] += qkv[(row + qWidth + kvWidth)..<(row + qkvWidth)]
                let length = cache.keys[l].count / kvWidth
                let first = c.slidingWindow.map { max(0, length - $0) } ?? 0
                cache.keys[l].withUnsafeBufferPointer { kp in
                    cache.values[l].withUnsafeBufferPointer { vp in
                        var scores = [Float](repeating: 0, count: length)
                        for head in 0..<c.headCount {
                            let kv = head / group
                            let query = row + head * d
                            let out = r * qWidth + head * d
                            for j in first..<length {
                                var dot: Float = 0
                                let key = kp.baseAddress! + j * kvWidth + kv * d
                                for i in 0..<d { dot += qkv[query + i] * key[i] }
                                scores[j] = dot * scale
                            }
                            scores.withUnsafeMutableBufferPointer {
                                Kernels.maskedSoftmax($0.baseAddress!, count: length, visible: first, length - 1)
                            }
                            for j in first..<length {
                                let p = scores[j]
                                let value = vp.baseAddress! + j * kvWidth + kv * d
                                for i in 0..<d { attended[out + i] += p * value[i] }
                            }
                        }
                    }
                }
            }
            ForwardPass.project(
                w[.o], adapters.group(.o, layer: l), input: attended, lda: qWidth, rows: rows,
                output: &x, ldc: h, accumulate: true, scratch: &scratch, widen: widen)
            Kernels.rmsNorm(x, w.postAttentionNorm, into: &normed, rows: 0..<rows, width: h, epsilon: epsilon)
            ForwardPass.project(
                w[.gateUp], adapters.group(.gateUp, layer: l), input: normed, lda: h, rows: rows,
                output: &gateUp, ldc: 2 * intermediate, accumulate: false, scratch: &scratch, widen: widen)
            Kernels.siluMultiply(&gateUp, rows: 0..<rows, intermediate: intermediate)
            ForwardPass.project(
                w[.down], adapters.group(.down, layer: l), input: gateUp, lda: 2 * intermediate, rows: rows,
                output: &x, ldc: h, accumulate: true, scratch: &scratch, widen: widen)
        }
        Kernels.rmsNorm(x, weights.finalNorm, into: &normed, rows: 0..<rows, width: h, epsilon: epsilon)
        return [Float](unsafeUninitializedCapacity: rows * c.vocabSize) { buffer, initialized in
            ForwardPass.logits(
                weights.head, input: normed, rows: rows, output: buffer.baseAddress!, parallel: widen.parallel)
            initialized = rows * c.vocabSize
        }
    }
}
