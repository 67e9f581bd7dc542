import AdapterFormat
import Foundation

/// Task-loss scoring as docs/DESIGN.md §6 defines it: causal-LM cross-entropy of
/// `text` given `prefix`, with BOS and the prompt masked out.
public enum Scoring {
    /// How a row's prompt and response become tokens.
    ///
    /// adaptermerge's rule, `separate` (the default), tokenizes `[BOS] + prefix`
    /// and `text` apart, so the boundary between them is exact. The paper's
    /// reference code, `joint`, tokenizes `prefix + text` together (with the
    /// tokenizer's specials) and masks `len(tokenizer(prefix))` tokens; the two
    /// differ when a token spans the boundary.
    public enum PromptTokenization: String, Sendable, CaseIterable {
        case separate, joint
    }

    /// One example's token ids and the index of its first scored token.
    public struct Example: Sendable {
        public let ids: [Int]
        /// Tokens at positions `promptLength...` are scored.
        public let promptLength: Int

        public init(ids: [Int], promptLength: Int) {
            self.ids = ids
            self.promptLength = promptLength
        }

        /// The positions whose tokens are scored, each predicted from the row
        /// before it (so never position 0); empty when nothing follows the prompt.
        public var scoredPositions: Range<Int> {
            let first = Swift.max(promptLength, 1)
            return first..<Swift.max(ids.count, first)
        }
    }

    /// `[BOS…] + prefix + text`, each part tokenized without specials, so the
    /// boundary between prompt and response is exact.
    public static func example(prefix: String, text: String, tokenizer: Tokenizer) throws -> Example {
        let prompt = tokenizer.prefixIDs + (try tokenizer.encode(prefix, addSpecialTokens: false))
        let response = try tokenizer.encode(text, addSpecialTokens: false)
        return Example(ids: prompt + response, promptLength: prompt.count)
    }

    /// ``losses(_:model:adapters:batchSize:progress:)`` for data rows, refusing (by
    /// file and line) a loss that is not finite: the model or an adapter produced NaN/Inf.
    public static func losses(
        rows: [DataRow], examples: [Example], model: TransformerModel, adapters: AdapterStack,
        batchSize: Int = 8, progress: ((Int) -> Void)? = nil
    ) throws -> [(loss: Double, tokens: Int)] {
        let results = try losses(
            examples, model: model, adapters: adapters, batchSize: batchSize, progress: progress)
        if let i = results.firstIndex(where: { !$0.loss.isFinite }) {
            throw FormatError(
                .invalidContent,
                "the loss is \(results[i].loss.isNaN ? "NaN" : "infinite"): the model's weights or an adapter produce NaN/Inf",
                path: rows[i].file, location: "line \(rows[i].line)")
        }
        return results
    }

    /// Per example: the mean cross-entropy over its scored tokens, and their count.
    ///
    /// Batches are packed (``TokenBatch/init(packing:)``): examples of mixed
    /// lengths cost their tokens and no padding.
    public static func losses(
        _ examples: [Example], model: TransformerModel, adapters: AdapterStack,
        batchSize: Int = 8, progress: ((Int) -> Void)? = nil
    ) throws -> [(loss: Double, tokens: Int)] {
        var results: [(Double, Int)] = []
        let vocab = model.config.vocabSize
        let size = max(1, batchSize)
        for start in stride(from: 0, to: examples.count, by: size) {
            let chunk = Array(examples[start..<min(start + size, examples.count)])
            let batch = TokenBatch(packing: chunk.map(\.ids))
            // Only the rows that predict a scored token need the output head: the prompt's are never read.
            let scored = chunk.enumerated().flatMap { b, ex in ex.scoredPositions.map { batch.row(b, $0 - 1) } }
            let out = try model.forward(batch, adapters: adapters, logitRows: scored)
            out.logits.withUnsafeBufferPointer { logits in
                // The logits come in the order asked: example after example, position after position.
                var next = 0
                for ex in chunk {
                    var total = 0.0
                    for p in ex.scoredPositions {
                        total += crossEntropy(logits.baseAddress! + next * vocab, vocab, ex.ids[p])
                        next += 1
                    }
                    let count = ex.scoredPositions.count
                    results.append((count > 0 ? total / Double(count) : .nan, count))
                }
            }
            progress?(chunk.count)
        }
        return results
    }

    /// `−log softmax(logits)[target]`, in Double for a stable log-sum-exp.
    static func crossEntropy(_ logits: UnsafePointer<Float>, _ n: Int, _ target: Int) -> Double {
        var peak = -Double.infinity
        for i in 0..<n { peak = max(peak, Double(logits[i])) }
        var sum = 0.0
        for i in 0..<n { sum += exp(Double(logits[i]) - peak) }
        return log(sum) + peak - Double(logits[target])
    }
}
