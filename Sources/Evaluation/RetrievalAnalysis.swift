import AdapterFormat
import Transformer

/// The paper's analysis over parallel rows: at every layer 0…L, the share of
/// `text_parallel_0` sentences whose mean-pooled state is most cosine-similar
/// to their own `text_parallel_1` among that language's sentences.
public struct RetrievalAnalysis: Sendable {
    /// Languages in order of first appearance (`-` for rows without `lang`).
    public let languages: [String]
    /// `perLanguage[lang][layer]`.
    public let perLanguage: [String: [Double]]
    /// The mean over languages, per layer.
    public let mean: [Double]

    public var layers: [Int] { Array(mean.indices) }

    /// The layer with the highest mean accuracy (the deeper one on ties).
    public var bestLayer: Int { RetrievalAnalysis.bestLayer(of: mean) }

    /// The index of the highest value, the last one on ties.
    public static func bestLayer(of mean: [Double]) -> Int {
        mean.indices.max { mean[$0] < mean[$1] || (mean[$0] == mean[$1] && $0 < $1) } ?? 0
    }

    /// Runs the model over both sides of every row, up to `layer` when given.
    public init(
        rows: [DataRow], model: TransformerModel, tokenizer: Tokenizer, adapters: AdapterStack,
        batchSize: Int, upTo layer: Int? = nil
    ) throws {
        var languages: [String] = []
        var members: [String: [Int]] = [:]
        for (i, row) in rows.enumerated() {
            let lang = row.optionalString("lang") ?? "-"
            if members[lang] == nil { languages.append(lang) }
            members[lang, default: []].append(i)
        }
        let context = model.config.maxPositionEmbeddings
        let side0 = try rows.map { try $0.tokens("text_parallel_0", tokenizer: tokenizer, maxLength: context) }
        let side1 = try rows.map { try $0.tokens("text_parallel_1", tokenizer: tokenizer, maxLength: context) }
        let pad = tokenizer.padID ?? 0
        let p0 = try Retrieval.pooledStates(
            side0, model: model, adapters: adapters, batchSize: batchSize, padID: pad, upTo: layer)
        let p1 = try Retrieval.pooledStates(
            side1, model: model, adapters: adapters, batchSize: batchSize, padID: pad, upTo: layer)
        var perLanguage: [String: [Double]] = [:]
        for lang in languages {
            let idx = members[lang]!
            perLanguage[lang] = p0.indices.map { l in
                Retrieval.accuracy(anchors: idx.map { p0[l][$0] }, candidates: idx.map { p1[l][$0] })
            }
        }
        self.languages = languages
        self.perLanguage = perLanguage
        mean = p0.indices.map { l in languages.reduce(0) { $0 + perLanguage[$1]![l] } / Double(max(languages.count, 1))
        }
    }
}
