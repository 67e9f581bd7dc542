import AdapterFormat
import Dispatch
import Foundation
import Tensors
import Transformer

/// One setting's metrics for one language.
public struct LanguageMetrics: Sendable, Equatable {
    public var examples = 0
    /// Mean task loss of the reference `text` given `prefix`.
    public var loss = Double.nan
    /// Share of greedy outputs equal to the reference (trimmed, up to the first newline).
    public var exactMatch = Double.nan
    /// Corpus chrF (sacreBLEU's, 0…100) of the greedy outputs' first lines against the references,
    /// over the rows whose references are free-form (not `label: value` slots); see ``ChrF``.
    public var chrF: Double?
    /// Slot micro-F1, when the references follow the `label: value; …` convention.
    public var slotF1: Double?
    /// Slot-label micro-F1 (labels only), with `slotF1`.
    public var slotLabelF1: Double?
    /// Retrieval accuracy at the alignment layer, with parallel rows.
    public var retrieval: Double?

    public init() {}
}

/// Everything the check measured for one adapter setting.
public struct SettingResult: Sendable {
    public let metrics: [String: LanguageMetrics]
    /// The greedy output of every task row, in order.
    public let outputs: [String]
    /// The per-layer retrieval curve, with parallel rows.
    public let retrieval: RetrievalAnalysis?
}

/// The held-out-language check (docs/DESIGN.md §7): for one adapter setting, per
/// language, the task loss of the references, greedy exact match, chrF where
/// outputs are free-form, slot F1 where they follow the MASSIVE convention, and
/// retrieval accuracy of parallel sentences at the alignment layer.
public struct HeldOutCheck {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    /// Task rows: `prefix`, `text`, optional `lang` and `utterance` (the span
    /// slot values are mapped onto; the prefix when absent).
    public let rows: [DataRow]
    /// Parallel rows, for retrieval.
    public let pairs: [DataRow]
    public let layer: Int
    public var batchSize = 8
    /// How prompts are tokenized for the loss and the decoding prompt.
    public var promptTokenization: Scoring.PromptTokenization = .separate
    /// Decoding stops at EOS, at a newline, or after this many tokens beyond the reference's length.
    public var extraTokens = 16
    /// Decode greedily (exact match, chrF, slot F1); off, only losses and retrieval are measured.
    public var decodes = true

    /// Ids whose text contains a newline: decoding stops there, since a task output is one line.
    let newlineTokens: [Int]

    public init(model: TransformerModel, tokenizer: Tokenizer, rows: [DataRow], pairs: [DataRow], layer: Int) {
        self.model = model
        self.tokenizer = tokenizer
        self.rows = rows
        self.pairs = pairs
        self.layer = layer
        newlineTokens = (0..<tokenizer.vocabularySize).filter { tokenizer.decode([$0]).contains("\n") }
    }

    /// Languages in order of first appearance in the task rows, then the parallel rows.
    public var languages: [String] {
        (rows.map { $0.optionalString("lang") ?? "-" } + pairs.map { $0.optionalString("lang") ?? "-" }).uniqued()
    }

    /// Measures one setting. `progress` is told about each decoded row.
    public func run(_ adapters: AdapterStack, progress: (@Sendable (Int) -> Void)? = nil) throws -> SettingResult {
        var metrics: [String: LanguageMetrics] = [:]
        var outputs: [String] = []
        if !rows.isEmpty {
            let examples = try rows.map {
                try $0.scoringExample(
                    tokenizer: tokenizer, maxLength: model.config.maxPositionEmbeddings, prompt: promptTokenization)
            }
            let losses = try Scoring.losses(
                rows: rows, examples: examples, model: model, adapters: adapters, batchSize: batchSize)
            outputs = decodes ? try decode(examples, adapters: adapters, progress: progress) : []
            var byLanguage:
                [String: (
                    loss: [Double], exact: Int, slots: SlotFilling.Counts, labels: SlotFilling.Counts, slotRows: Int,
                    chrF: ChrF.Statistics, chrFRows: Int, count: Int
                )] = [:]
            for (i, row) in rows.enumerated() {
                let lang = row.optionalString("lang") ?? "-"
                let reference = try row.string("text")
                var entry = byLanguage[lang] ?? ([], 0, .init(), .init(), 0, .init(), 0, 0)
                entry.count += 1
                if losses[i].loss.isFinite { entry.loss.append(losses[i].loss) }
                if decodes && HeldOutCheck.normalized(outputs[i]) == HeldOutCheck.normalized(reference) {
                    entry.exact += 1
                }
                if decodes && !SlotFilling.looksLikeSlots(reference) {
                    entry.chrF += ChrF.Statistics(hypothesis: HeldOutCheck.firstLine(outputs[i]), reference: reference)
                    entry.chrFRows += 1
                }
                if decodes && SlotFilling.looksLikeSlots(reference) {
                    let utterance = try row.optionalString("utterance") ?? row.string("prefix")
                    let characters = SlotFilling.isCharacterLevel(row.optionalString("lang"))
                    entry.slots =
                        entry.slots
                        + SlotFilling.score(
                            prediction: HeldOutCheck.firstLine(outputs[i]), reference: reference,
                            utterance: utterance, characterLevel: characters)
                    entry.labels =
                        entry.labels
                        + SlotFilling.scoreLabels(prediction: HeldOutCheck.firstLine(outputs[i]), reference: reference)
                    entry.slotRows += 1
                }
                byLanguage[lang] = entry
            }
            for (lang, e) in byLanguage {
                var m = LanguageMetrics()
                m.examples = e.count
                m.loss = e.loss.isEmpty ? .nan : e.loss.reduce(0, +) / Double(e.loss.count)
                m.exactMatch = decodes ? Double(e.exact) / Double(e.count) : .nan
                if e.chrFRows > 0 { m.chrF = e.chrF.score }
                if e.slotRows > 0 {
                    m.slotF1 = e.slots.f1
                    m.slotLabelF1 = e.labels.f1
                }
                metrics[lang] = m
            }
        }
        var curve: RetrievalAnalysis?
        if !pairs.isEmpty {
            curve = try RetrievalAnalysis(
                rows: pairs, model: model, tokenizer: tokenizer, adapters: adapters, batchSize: batchSize)
            for lang in curve!.languages {
                var m = metrics[lang] ?? LanguageMetrics()
                m.retrieval = curve!.perLanguage[lang]?[max(0, min(layer, curve!.mean.count - 1))]
                metrics[lang] = m
            }
        }
        return SettingResult(metrics: metrics, outputs: outputs, retrieval: curve)
    }

    /// Greedy outputs, decoded on all cores at once: each core decodes its
    /// share of the examples in groups of ``batchSize`` (every step one row per
    /// unfinished example of the group, each with its own KV cache) with
    /// single-threaded BLAS.
    func decode(_ examples: [Scoring.Example], adapters: AdapterStack, progress: (@Sendable (Int) -> Void)?) throws
        -> [String]
    {
        let stop = Set([tokenizer.eosID].compactMap { $0 } + newlineTokens)
        let limit = model.config.maxPositionEmbeddings
        let results = UnsafeMutableBufferPointer<Result<String, any Error>>.allocate(capacity: examples.count)
        results.initialize(repeating: .success(""))
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let shared = SharedPointer(results)
        let threads = max(1, min(model.threadCount, examples.count))
        let model = self.model
        let tokenizer = self.tokenizer
        let extra = extraTokens
        let group = max(1, batchSize)
        let done = ProgressCounter(progress)
        BLAS.withThreads(threads > 1 ? 1 : BLAS.threadCount) {
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                let mine = Array(stride(from: worker, to: examples.count, by: threads))
                for start in stride(from: 0, to: mine.count, by: group) {
                    let members = mine[start..<min(start + group, mine.count)]
                    let prompts = members.map { Array(examples[$0].ids.prefix(examples[$0].promptLength)) }
                    let budgets = zip(members, prompts).map { i, prompt in
                        max(0, min(examples[i].ids.count - examples[i].promptLength + extra, limit - prompt.count))
                    }
                    let outcome = Result {
                        try model.generate(
                            prompts: prompts, maxNewTokens: budgets, stopTokens: stop, adapters: adapters,
                            serial: threads > 1)
                    }
                    for (k, i) in members.enumerated() {
                        shared.p[i] = outcome.map { tokenizer.decode($0[k], skipSpecialTokens: true) }
                    }
                    done.add(members.count)
                }
            }
        }
        return try results.map { try $0.get() }
    }

    static func firstLine(_ s: String) -> String {
        String(s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    static func normalized(_ s: String) -> String {
        firstLine(s.trimmingCharacters(in: .whitespacesAndNewlines)).trimmingCharacters(in: .whitespaces)
    }
}
