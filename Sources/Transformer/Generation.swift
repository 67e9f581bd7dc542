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
    public func generate(prompt: [Int], maxNewTokens: Int, stopTokens: Set<Int>,
                         adapters: AdapterStack = .empty) throws -> [Int] {
        guard !prompt.isEmpty, maxNewTokens > 0 else { return [] }
        let c = config
        let cache = KVCache(layers: c.layerCount)
        let prefill = try forward(TokenBatch([prompt]), adapters: adapters, hiddenStates: false, stopAfter: nil, cache: cache)
        var next = argmax(prefill.logits, row: prompt.count - 1)
        var generated = [next]
        var position = prompt.count
        while generated.count < maxNewTokens && !stopTokens.contains(next) {
            let logits = try step(token: next, position: position, cache: cache, adapters: adapters)
            next = argmax(logits, row: 0)
            generated.append(next)
            position += 1
        }
        return generated
    }

    func argmax(_ logits: [Float], row: Int) -> Int {
        let v = config.vocabSize
        var best = -Float.infinity, arg = 0
        for i in 0..<v where logits[row * v + i] > best {
            best = logits[row * v + i]
            arg = i
        }
        return arg
    }

    /// One decoding step at `position`, appending to the cache; returns the logits.
    func step(token: Int, position: Int, cache: KVCache, adapters: AdapterStack) throws -> [Float] {
        let c = config, h = c.hiddenSize, d = c.headDimension
        guard token >= 0, token < c.vocabSize else {
            throw FormatError(.invalidContent, "token id \(token) is outside the vocabulary", path: directory)
        }
        ensureRope(position + 1)
        var x = Array(weights.embedding.values[(token * h)..<((token + 1) * h)])
        let qWidth = c.headCount * d, kvWidth = c.keyValueHeadCount * d, group = c.headCount / c.keyValueHeadCount
        for l in 0..<c.layerCount {
            let w = weights.blocks[l]
            let lora = adapters.terms.indices.contains(l) ? adapters.terms[l] : [:]
            let hIn = rmsNorm(x, w.inputNorm, rows: 1)
            var q = [Float](repeating: 0, count: qWidth)
            var k = [Float](repeating: 0, count: kvWidth)
            var v = [Float](repeating: 0, count: kvWidth)
            projectWithAdapters(hIn, rows: 1, "q_proj", w, lora, into: &q)
            projectWithAdapters(hIn, rows: 1, "k_proj", w, lora, into: &k)
            projectWithAdapters(hIn, rows: 1, "v_proj", w, lora, into: &v)
            applyRope(&q, heads: c.headCount, positions: [position])
            applyRope(&k, heads: c.keyValueHeadCount, positions: [position])
            cache.keys[l] += k
            cache.values[l] += v
            let length = cache.keys[l].count / kvWidth
            let first = c.slidingWindow.map { max(0, length - $0) } ?? 0
            var attended = [Float](repeating: 0, count: qWidth)
            let scale = 1 / Float(d).squareRoot()
            cache.keys[l].withUnsafeBufferPointer { kp in
                cache.values[l].withUnsafeBufferPointer { vp in
                    for head in 0..<c.headCount {
                        let kv = head / group
                        var scores = [Float](repeating: 0, count: length)
                        var peak = -Float.infinity
                        for j in first..<length {
                            var dot: Float = 0
                            let key = kp.baseAddress! + j * kvWidth + kv * d
                            for i in 0..<d { dot += q[head * d + i] * key[i] }
                            scores[j] = dot * scale
                            peak = max(peak, scores[j])
                        }
                        var sum: Float = 0
                        for j in first..<length {
                            scores[j] = expf(scores[j] - peak)
                            sum += scores[j]
                        }
                        for j in first..<length {
                            let p = scores[j] / sum, value = vp.baseAddress! + j * kvWidth + kv * d
                            for i in 0..<d { attended[head * d + i] += p * value[i] }
                        }
                    }
                }
            }
            var attnOut = [Float](repeating: 0, count: h)
            projectWithAdapters(attended, rows: 1, "o_proj", w, lora, into: &attnOut)
            add(&x, attnOut)
            mlp(l, &x, rows: 1, lora)
        }
        let normed = rmsNorm(x, weights.finalNorm, rows: 1)
        var logits = [Float](repeating: 0, count: c.vocabSize)
        project(normed, rows: 1, weights.head, into: &logits, bias: nil)
        return logits
    }
}
