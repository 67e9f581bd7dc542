import AdapterFormat

/// `score`'s whole job on data rows: each row's loss and token count, and the
/// mean per language, with the JSON `score --json` prints.
public struct RowScores: Sendable {
    public let rows: [DataRow]
    public let results: [(loss: Double, tokens: Int)]
    /// Per language in order of first appearance (`-` for rows without one): rows and mean loss.
    public let languages: [(language: String, examples: Int, meanLoss: Double)]

    /// Scores every row (``DataRow/scoringExample(tokenizer:maxLength:prompt:)``, ``Scoring/losses(rows:examples:model:adapters:batchSize:progress:)``).
    public init(
        rows: [DataRow], model: TransformerModel, tokenizer: Tokenizer, adapters: AdapterStack, batchSize: Int,
        prompt rule: Scoring.PromptTokenization = .separate, progress: ((Int) -> Void)? = nil
    ) throws {
        let examples = try rows.map {
            try $0.scoringExample(tokenizer: tokenizer, maxLength: model.config.maxPositionEmbeddings, prompt: rule)
        }
        let results = try Scoring.losses(
            rows: rows, examples: examples, model: model, adapters: adapters, batchSize: batchSize, progress: progress)
        var byLanguage: [String: [Double]] = [:]
        var order: [String] = []
        for (row, r) in zip(rows, results) {
            let lang = row.optionalString("lang") ?? "-"
            if byLanguage[lang] == nil { order.append(lang) }
            byLanguage[lang, default: []].append(r.loss)
        }
        self.rows = rows
        self.results = results
        languages = order.map { lang in
            let losses = byLanguage[lang] ?? []
            return (lang, losses.count, losses.reduce(0, +) / Double(losses.count))
        }
    }

    /// `examples` (index, lang, loss, tokens) and `languages` (lang → mean loss).
    public var json: JSONValue {
        [
            "examples": .array(
                zip(rows, results).enumerated().map { i, pair in
                    [
                        "index": .int(i), "lang": pair.0.optionalString("lang").map(JSONValue.string) ?? .null,
                        "loss": .double(pair.1.loss), "tokens": .int(pair.1.tokens),
                    ]
                }),
            "languages": .object(languages.map { (key: $0.language, value: .double($0.meanLoss)) }),
        ]
    }
}
