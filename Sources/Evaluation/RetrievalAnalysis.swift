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
        let side0 = try rows.map { try $0.parallelTokens("text_parallel_0", tokenizer: tokenizer, maxLength: context) }
        let side1 = try rows.map { try $0.parallelTokens("text_parallel_1", tokenizer: tokenizer, maxLength: context) }
        let p0 = try Retrieval.pooledStates(side0, model: model, adapters: adapters, batchSize: batchSize, upTo: layer)
        let p1 = try Retrieval.pooledStates(side1, model: model, adapters: adapters, batchSize: batchSize, upTo: layer)
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

extension RetrievalAnalysis {
    /// A curve already measured (read back from `analyze --json`).
    public init(languages: [String], perLanguage: [String: [Double]], mean: [Double]) {
        self.languages = languages
        self.perLanguage = perLanguage
        self.mean = mean
    }

    /// What `analyze --json` prints: `layers`, `mean`, `languages` (lang → accuracy per layer), `best_layer`.
    public var json: JSONValue {
        [
            "layers": .array(layers.map { .int($0) }),
            "mean": .array(mean.map { .double($0) }),
            "languages": .object(
                languages.map { (key: $0, value: .array((perLanguage[$0] ?? []).map { .double($0) })) }),
            "best_layer": .int(bestLayer),
        ]
    }

    /// Reads `analyze --json` output; every language's curve must have the mean's length.
    public init(json: JSONValue, path: String) throws {
        let f = try JSONFields(json, path: path, what: "a retrieval curve")
        func curve(_ value: JSONValue?, _ key: String) throws -> [Double] {
            guard let items = value?.arrayValue else { throw f.error(key, "must be a list of numbers") }
            return try items.map {
                guard let d = $0.doubleValue else { throw f.error(key, "must be a list of numbers") }
                return d
            }
        }
        let mean = try curve(f["mean"], "mean")
        var languages: [String] = []
        var perLanguage: [String: [Double]] = [:]
        for (lang, value) in try f.object("languages")?.pairs ?? [] {
            let values = try curve(value, "languages.\(lang)")
            guard values.count == mean.count else {
                throw f.error("languages.\(lang)", "has \(values.count) layers, the mean \(mean.count)")
            }
            languages.append(lang)
            perLanguage[lang] = values
        }
        if let layers = f["layers"]?.arrayValue, layers.count != mean.count {
            throw f.error("layers", "has \(layers.count) entries, the mean \(mean.count)")
        }
        self.init(languages: languages, perLanguage: perLanguage, mean: mean)
    }
}
