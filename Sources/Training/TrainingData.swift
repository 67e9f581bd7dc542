import AdapterFormat
import Transformer

/// Training rows read from JSON-lines files (docs/DESIGN.md §6): task rows
/// (`prefix`, `text`, optional `lang`) and parallel rows (`text_parallel_0`,
/// the non-English side, `text_parallel_1`, English, optional `lang`). A row
/// with all four fields serves both objectives.
public struct TrainingData: Sendable {
    public struct TaskRow: Sendable {
        public let example: Scoring.Example
        public let lang: String?
    }

    public struct PairRow: Sendable {
        public let side0: [Int]
        public let side1: [Int]
        public let lang: String?
    }

    public var task: [TaskRow] = []
    public var pairs: [PairRow] = []
    /// Rows skipped under `skipBadRows`, as "file:line: reason".
    public var skipped: [String] = []
    /// XXH64 of each file's bytes, for the recipe.
    public var fileHashes: [(path: String, xxh64: String)] = []

    /// The languages of every row, in order of first appearance.
    public var languages: [String] { (task.compactMap(\.lang) + pairs.compactMap(\.lang)).uniqued() }

    /// The languages of the task rows.
    public var taskLanguages: [String] { task.compactMap(\.lang).uniqued() }

    /// The languages of the parallel rows (their non-English side).
    public var alignmentLanguages: [String] { pairs.compactMap(\.lang).uniqued() }

    /// Reads and tokenizes `paths`. A row that serves neither objective, has a
    /// field of the wrong type, or is longer than `maxLength` tokens stops the
    /// read with its file and line, unless `skipBadRows`.
    public init(
        paths: [String], tokenizer: Tokenizer, maxLength: Int, skipBadRows: Bool,
        prompt rule: Scoring.PromptTokenization = .separate
    ) throws {
        for path in paths {
            fileHashes.append((path, XXH64.hex(XXH64.hash(try FileSystem.readFile(path, limit: 4 << 30)))))
            for row in try JSONLines.read(path, checkingTypes: false) {
                do {
                    try add(row, tokenizer: tokenizer, maxLength: maxLength, prompt: rule)
                } catch let error as FormatError where skipBadRows {
                    skipped.append(error.description)
                }
            }
        }
    }

    private mutating func add(
        _ row: DataRow, tokenizer: Tokenizer, maxLength: Int, prompt rule: Scoring.PromptTokenization
    ) throws {
        try row.checkTextFields()
        let lang = row.optionalString("lang")
        let isTask = row.fields["prefix"] != nil || row.fields["text"] != nil
        let isPair = row.fields["text_parallel_0"] != nil || row.fields["text_parallel_1"] != nil
        guard isTask || isPair else {
            throw FormatError(
                .malformed, "row has neither prefix/text nor text_parallel_0/text_parallel_1",
                path: row.file, location: "line \(row.line)")
        }
        // Both halves are built before either is kept, so a skipped row is skipped whole.
        var taskRow: TaskRow?
        var pairRow: PairRow?
        if isTask {
            taskRow = TaskRow(
                example: try row.scoringExample(tokenizer: tokenizer, maxLength: maxLength, prompt: rule), lang: lang)
        }
        if isPair {
            // Raw text with the tokenizer's own specials (BOS), as `tokenizer(text)` gives it.
            pairRow = PairRow(
                side0: try row.parallelTokens("text_parallel_0", tokenizer: tokenizer, maxLength: maxLength),
                side1: try row.parallelTokens("text_parallel_1", tokenizer: tokenizer, maxLength: maxLength),
                lang: lang)
        }
        if let taskRow { task.append(taskRow) }
        if let pairRow { pairs.append(pairRow) }
    }
}
