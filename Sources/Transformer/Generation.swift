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
        guard !prompt.isEmpty, maxNewTokens > 0 else { return [] }
        let c = config
        let cache = KVCache(layers: c.layerCount)
        // Size the RoPE tables once, not one position per step.
        _ = ropeTables(covering: prompt.count + maxNewTokens)
        let prefill = try forward(
            TokenBatch([prompt]), adapters: adapters, hiddenStates: false, stopAfter: nil, cache: cache,
            serial: serial, logitRows: [prompt.count - 1])
        var next = argmax(prefill.logits, row: 0)
        var generated = [next]
        var position = prompt.count
        let widen = WeightWidening(weights, parallel: !serial)
        defer { widen.free() }
        while generated.count < maxNewTokens && !stopTokens.contains(next) {
            let logits = try step(token: next, position: position, cache: cache, adapters: adapters, widen: widen)
            next = argmax(logits, row: 0)
            generated.append(next)
            position += 1
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

    /// One decoding step at `position`, appending to the cache; returns the logits.
    func step(token: Int, position: Int, cache: KVCache, adapters: AdapterStack, widen: WeightWidening) throws
        -> [Float]
    {
        let c = config
        let h = c.hiddenSize
        let d = c.headDimension
        guard token >= 0, token < c.vocabSize else {
            throw FormatError(.invalidContent, "token id \(token) is outside the vocabulary", path: path)
        }
        let rope = ropeTables(covering: position + 1)
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let group = c.headCount / c.keyValueHeadCount
        let qkvWidth = qWidth + 2 * kvWidth
        let intermediate = c.intermediateSize
        let epsilon = Float(c.rmsNormEpsilon)
        let maxRank = adapters.groups.flatMap { $0.compactMap { $0?.rank } }.max() ?? 0
        var x = [Float](unsafeUninitializedCapacity: h) { buffer, initialized in
            weights.embedding.widen(rows: token..<(token + 1), into: buffer.baseAddress!)
            initialized = h
        }
        var normed = [Float](repeating: 0, count: h)
        var qkv = [Float](repeating: 0, count: qkvWidth)
        var attended = [Float](repeating: 0, count: qWidth)
        var gateUp = [Float](repeating: 0, count: 2 * intermediate)
        var scratch = [Float](repeating: 0, count: max(maxRank, 1))
        for l in 0..<c.layerCount {
            let w = weights.blocks[l]
            Kernels.rmsNorm(x, w.inputNorm, into: &normed, rows: 0..<1, width: h, epsilon: epsilon)
            ForwardPass.project(
                w[.qkv], adapters.group(.qkv, layer: l), input: normed, lda: h, rows: 1,
                output: &qkv, ldc: qkvWidth, accumulate: false, scratch: &scratch, widen: widen)
            rope.cos.withUnsafeBufferPointer { cp in
                rope.sin.withUnsafeBufferPointer { sp in
                    qkv.withUnsafeMutableBufferPointer { m in
                        Kernels.rope(
                            m.baseAddress!, heads: c.headCount, headDimension: d, position: position,
                            cos: cp.baseAddress!, sin: sp.baseAddress!)
                        Kernels.rope(
                            m.baseAddress! + qWidth, heads: c.keyValueHeadCount, headDimension: d, position: position,
                            cos: cp.baseAddress!, sin: sp.baseAddress!)
                    }
                }
            }
            cache.keys[l] += qkv[qWidth..<(qWidth + kvWidth)]
            cache.values[l] += qkv[(qWidth + kvWidth)...]
            let length = cache.keys[l].count / kvWidth
            let first = c.slidingWindow.map { max(0, length - $0) } ?? 0
            let scale = 1 / Float(d).squareRoot()
            for i in attended.indices { attended[i] = 0 }
            cache.keys[l].withUnsafeBufferPointer { kp in
                cache.values[l].withUnsafeBufferPointer { vp in
                    var scores = [Float](repeating: 0, count: length)
                    for head in 0..<c.headCount {
                        let kv = head / group
                        for j in first..<length {
                            var dot: Float = 0
                            let key = kp.baseAddress! + j * kvWidth + kv * d
                            for i in 0..<d { dot += qkv[head * d + i] * key[i] }
                            scores[j] = dot * scale
                        }
                        scores.withUnsafeMutableBufferPointer {
                            Kernels.maskedSoftmax($0.baseAddress!, count: length, visible: first, length - 1)
                        }
                        for j in first..<length {
                            let p = scores[j]
                            let value = vp.baseAddress! + j * kvWidth + kv * d
                            for i in 0..<d { attended[head * d + i] += p * value[i] }
                        }
                    }
                }
            }
            ForwardPass.project(
                w[.o], adapters.group(.o, layer: l), input: attended, lda: qWidth, rows: 1,
                output: &x, ldc: h, accumulate: true, scratch: &scratch, widen: widen)
            Kernels.rmsNorm(x, w.postAttentionNorm, into: &normed, rows: 0..<1, width: h, epsilon: epsilon)
            ForwardPass.project(
                w[.gateUp], adapters.group(.gateUp, layer: l), input: normed, lda: h, rows: 1,
                output: &gateUp, ldc: 2 * intermediate, accumulate: false, scratch: &scratch, widen: widen)
            Kernels.siluMultiply(&gateUp, rows: 0..<1, intermediate: intermediate)
            ForwardPass.project(
                w[.down], adapters.group(.down, layer: l), input: gateUp, lda: 2 * intermediate, rows: 1,
                output: &x, ldc: h, accumulate: true, scratch: &scratch, widen: widen)
        }
        Kernels.rmsNorm(x, weights.finalNorm, into: &normed, rows: 0..<1, width: h, epsilon: epsilon)
        return [Float](unsafeUninitializedCapacity: c.vocabSize) { buffer, initialized in
            ForwardPass.logits(
                weights.head, input: normed, rows: 1, output: buffer.baseAddress!, parallel: widen.parallel)
            initialized = c.vocabSize
        }
    }
}
