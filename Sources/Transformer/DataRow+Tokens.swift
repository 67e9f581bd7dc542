import AdapterFormat

extension DataRow {
    /// The ids of text field `key`, refused by file and line when the text
    /// cannot be tokenized or does not fit in `maxLength` tokens.
    ///
    /// A text far longer than the context is refused from its byte count
    /// before any tokenizing, so a megabyte row costs nothing.
    public func tokens(_ key: String, tokenizer: Tokenizer, addSpecialTokens: Bool = true, maxLength: Int) throws
        -> [Int]
    {
        let ids = try encode(
            try string(key), key: key, tokenizer: tokenizer, addSpecialTokens: addSpecialTokens, budget: maxLength)
        try checkLength(ids.count, of: "\"\(key)\"", maxLength: maxLength)
        return ids
    }

    /// The ids of a parallel sentence (`text_parallel_0` or `_1`), whose hidden
    /// states are mean-pooled: refused by file and line when it has no tokens
    /// (an empty text and a tokenizer without BOS), as there is nothing to pool.
    public func parallelTokens(_ key: String, tokenizer: Tokenizer, maxLength: Int) throws -> [Int] {
        let ids = try tokens(key, tokenizer: tokenizer, maxLength: maxLength)
        guard !ids.isEmpty else {
            throw FormatError(
                .invalidContent, "\"\(key)\" has no tokens, so it has no hidden state to pool", path: file,
                location: "line \(line)")
        }
        return ids
    }

    /// The ids of text field `key`, however many, refused by file and line when
    /// the text cannot be tokenized (for readers that cut rows to a length).
    public func tokens(_ key: String, tokenizer: Tokenizer, addSpecialTokens: Bool = true) throws -> [Int] {
        try encode(try string(key), key: key, tokenizer: tokenizer, addSpecialTokens: addSpecialTokens, budget: nil)
    }

    /// The scoring example of a task row: `[BOS…] + prefix + text`, each part
    /// tokenized on its own (``Scoring/example(prefix:text:tokenizer:)``), or with
    /// `.joint` as the paper's reference code does it (see ``Scoring/PromptTokenization``).
    /// Refused by file and line when the text has no tokens (nothing to score)
    /// or the whole is longer than `maxLength` tokens.
    public func scoringExample(
        tokenizer: Tokenizer, maxLength: Int, prompt rule: Scoring.PromptTokenization = .separate
    )
        throws -> Scoring.Example
    {
        let prefix = try string("prefix")
        let text = try string("text")
        if rule == .joint {
            let ids = try encode(
                prefix + text, key: "prefix + text", tokenizer: tokenizer, addSpecialTokens: true, budget: maxLength)
            let masked = try encode(
                prefix, key: "prefix", tokenizer: tokenizer, addSpecialTokens: true, budget: maxLength
            ).count
            guard ids.count > masked else {
                throw FormatError(
                    .invalidContent, "\"text\" has no tokens past the prefix's, so there is nothing to score",
                    path: file,
                    location: "line \(line)")
            }
            try checkLength(ids.count, of: "prefix + text", maxLength: maxLength)
            return Scoring.Example(ids: ids, promptLength: masked)
        }
        let prompt =
            tokenizer.prefixIDs
            + (try encode(prefix, key: "prefix", tokenizer: tokenizer, addSpecialTokens: false, budget: maxLength))
        let response = try encode(text, key: "text", tokenizer: tokenizer, addSpecialTokens: false, budget: maxLength)
        guard !response.isEmpty else {
            throw FormatError(
                .invalidContent, "\"text\" has no tokens, so there is nothing to score", path: file,
                location: "line \(line)")
        }
        try checkLength(prompt.count + response.count, of: "prefix + text", maxLength: maxLength)
        return Scoring.Example(ids: prompt + response, promptLength: prompt.count)
    }

    /// `budget`: refuse, from the byte count alone, a text that cannot fit in so many tokens.
    private func encode(_ text: String, key: String, tokenizer: Tokenizer, addSpecialTokens: Bool, budget: Int?) throws
        -> [Int]
    {
        if let budget, tokenizer.bytesBoundTokens,
            case let (bytes, overflow) = budget.multipliedReportingOverflow(by: tokenizer.longestTokenBytes * 4),
            !overflow && text.utf8.count > bytes
        {
            throw FormatError(
                .invalidContent,
                "\"\(key)\" is \(text.utf8.count) bytes, more than the model's context of \(budget) tokens can hold (max_position_embeddings)",
                path: file, location: "line \(line)")
        }
        do {
            return try tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
        } catch let error as TokenizerError {
            throw FormatError(
                .invalidContent, "cannot tokenize \"\(key)\": \(error.message)", path: file, location: "line \(line)")
        }
    }

    private func checkLength(_ count: Int, of what: String, maxLength: Int) throws {
        guard count <= maxLength else {
            throw FormatError(
                .invalidContent,
                "\(what) is \(count) tokens, longer than the model's \(maxLength) tokens of context (max_position_embeddings)",
                path: file, location: "line \(line)")
        }
    }
}
