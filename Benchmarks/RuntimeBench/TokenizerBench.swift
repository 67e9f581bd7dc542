import AdapterFormat
import Foundation
import Transformer

/// Encoding throughput of the tokenizer on the corpus, one thread.
struct TokenizerResult {
    /// Size of corpus.txt.
    let bytes: Int
    let lines: Int
    let tokens: Int
    /// One pass encodes every line (without its line break), BOS included.
    let timing: Timing
    /// Whether the ids equal the tokenizers library's (count and hash).
    let matchesReference: Bool
}

enum TokenizerBench {
    /// Encodes the corpus line by line `runs` times (after one untimed pass, which fills the BPE cache
    /// as the library's own cache is filled during its warm-up) and checks the ids of the first pass.
    static func run(_ files: BenchmarkFiles, runs: Int) throws -> TokenizerResult {
        let tokenizer = try Tokenizer(directory: files.model)
        let bytes = try FileSystem.readFile(files.corpus)
        let lines = corpusLines(bytes)

        var hash = IDHash()
        var tokens = 0
        for line in lines {
            let ids = try tokenizer.encode(line)
            tokens += ids.count
            hash.combine(ids)
        }
        let reference = try files.referenceCorpusIDs()

        let timing = try Stopwatch(warmup: 0, runs: runs).measure {
            for line in lines { _ = try tokenizer.encode(line) }
        }
        return TokenizerResult(
            bytes: bytes.count, lines: lines.count, tokens: tokens, timing: timing,
            matchesReference: tokens == reference.tokens && hash.value == reference.hash)
    }

    /// The corpus's lines without their `\n`, as Python's `text.split("\n")[:-1]`.
    static func corpusLines(_ bytes: [UInt8]) -> [String] {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { String(decoding: $0, as: UTF8.self) }
    }
}
