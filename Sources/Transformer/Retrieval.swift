import Foundation

/// The paper's analysis: at every layer, can a sentence find its translation
/// among the other language's sentences by the cosine of mean-pooled states?
public enum Retrieval {
    /// Mean-pooled hidden states of each sequence at every layer (BOS included,
    /// padding excluded): `pooled[layer][sequence]` is a hidden-size vector.
    public static func pooledStates(
        _ sequences: [[Int]], model: TransformerModel, adapters: AdapterStack,
        batchSize: Int = 16, padID: Int = 0, upTo layer: Int? = nil
    ) throws -> [[[Float]]] {
        let h = model.config.hiddenSize
        var pooled: [[[Float]]] = []
        for start in stride(from: 0, to: sequences.count, by: max(1, batchSize)) {
            let chunk = Array(sequences[start..<min(start + batchSize, sequences.count)])
            let batch = TokenBatch(chunk, padID: padID)
            let out = try model.forward(batch, adapters: adapters, hiddenStates: true, stopAfter: layer, logits: false)
            if pooled.isEmpty { pooled = Array(repeating: [], count: out.hiddenStates.count) }
            for (l, states) in out.hiddenStates.enumerated() {
                for b in 0..<chunk.count {
                    var mean = [Float](repeating: 0, count: h)
                    var count: Float = 0
                    for t in 0..<batch.length where batch.mask[b * batch.length + t] {
                        let base = (b * batch.length + t) * h
                        for i in 0..<h { mean[i] += states[base + i] }
                        count += 1
                    }
                    if count > 0 { for i in 0..<h { mean[i] /= count } }
                    pooled[l].append(mean)
                }
            }
        }
        return pooled
    }

    /// Fraction of anchors whose most cosine-similar candidate is their own
    /// translation (`anchors[i]` ↔ `candidates[i]`).
    public static func accuracy(anchors: [[Float]], candidates: [[Float]]) -> Double {
        guard !anchors.isEmpty else { return .nan }
        func normalized(_ v: [Float]) -> [Double] {
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return v.map { norm > 0 ? Double($0) / norm : 0 }
        }
        let a = anchors.map(normalized)
        let c = candidates.map(normalized)
        var correct = 0
        for i in a.indices {
            var best = -Double.infinity
            var arg = -1
            for j in c.indices {
                var dot = 0.0
                for k in a[i].indices { dot += a[i][k] * c[j][k] }
                if dot > best {
                    best = dot
                    arg = j
                }
            }
            if arg == i { correct += 1 }
        }
        return Double(correct) / Double(a.count)
    }
}
