import Foundation

/// The paper's analysis: at every layer, can a sentence find its translation
/// among the other language's sentences by the cosine of mean-pooled states?
public enum Retrieval {
    /// Mean-pooled hidden states of each sequence at every layer (BOS included):
    /// `pooled[layer][sequence]` is a hidden-size vector, zeros for an empty
    /// sequence.
    ///
    /// Batches are packed (``TokenBatch/init(packing:)``): sequences of mixed
    /// lengths cost their tokens and no padding.
    public static func pooledStates(
        _ sequences: [[Int]], model: TransformerModel, adapters: AdapterStack, batchSize: Int = 16,
        upTo layer: Int? = nil
    ) throws -> [[[Float]]] {
        let h = model.config.hiddenSize
        var pooled: [[[Float]]] = []
        let size = Swift.max(1, batchSize)
        for start in stride(from: 0, to: sequences.count, by: size) {
            let batch = TokenBatch(packing: Array(sequences[start..<Swift.min(start + size, sequences.count)]))
            let out = try model.forward(batch, adapters: adapters, hiddenStates: true, stopAfter: layer, logits: false)
            if pooled.isEmpty { pooled = Array(repeating: [], count: out.hiddenStates.count) }
            for (l, states) in out.hiddenStates.enumerated() {
                states.withUnsafeBufferPointer { s in
                    for b in 0..<batch.count {
                        pooled[l].append(meanRow(s, from: batch.offsets[b], count: batch.lengths[b], width: h))
                    }
                }
            }
        }
        return pooled
    }

    /// The mean of `count` consecutive rows of `width` floats starting at row
    /// `from` (zeros when `count` is 0).
    private static func meanRow(_ rows: UnsafeBufferPointer<Float>, from: Int, count: Int, width: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: width) { mean, initialized in
            mean.initialize(repeating: 0)
            for t in from..<(from + count) {
                for i in 0..<width { mean[i] += rows[t * width + i] }
            }
            if count > 0 {
                let n = Float(count)
                for i in 0..<width { mean[i] /= n }
            }
            initialized = width
        }
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
