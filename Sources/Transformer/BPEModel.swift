/// A byte-level BPE vocabulary with its merge ranks.
///
/// Words are split into single mapped characters, then the adjacent pair with
/// the lowest merge rank is merged, leftmost first, until no pair has a rank,
/// exactly as the `tokenizers` library does. Results are cached per word.
public final class BPEModel: @unchecked Sendable {
    public let vocab: [String: Int]
    public let idToToken: [Int: String]
    /// Pair of token ids → (rank, merged id).
    private let merges: [UInt64: (rank: Int, id: Int)]
    /// `ignore_merges` (Llama 3): a word that is itself in the vocabulary is one token.
    public let ignoreMerges: Bool
    private var cache: [String: [Int]] = [:]
    private let cacheLimit = 100_000

    public init(vocab: [String: Int], merges: [(String, String)], ignoreMerges: Bool) throws {
        self.vocab = vocab
        var inverse: [Int: String] = [:]
        for (token, id) in vocab { inverse[id] = token }
        idToToken = inverse
        self.ignoreMerges = ignoreMerges
        var table: [UInt64: (rank: Int, id: Int)] = [:]
        for (rank, pair) in merges.enumerated() {
            guard let a = vocab[pair.0], let b = vocab[pair.1], let merged = vocab[pair.0 + pair.1] else {
                throw TokenizerError("merge \"\(pair.0) \(pair.1)\" (rank \(rank)) uses tokens missing from the vocabulary")
            }
            let key = BPEModel.key(a, b)
            if table[key] == nil { table[key] = (rank, merged) }
        }
        self.merges = table
    }

    @inline(__always) static func key(_ a: Int, _ b: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b))
    }

    /// The ids of one pre-tokenized word, already in mapped characters.
    public func encode(word: String) throws -> [Int] {
        if let hit = cache[word] { return hit }
        let ids = try merge(word)
        if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        return ids
    }

    private func merge(_ word: String) throws -> [Int] {
        if ignoreMerges, let id = vocab[word] { return [id] }
        var symbols: [Int] = []
        symbols.reserveCapacity(word.unicodeScalars.count)
        for scalar in word.unicodeScalars {
            guard let id = vocab[String(scalar)] else {
                throw TokenizerError("character U+\(String(scalar.value, radix: 16, uppercase: true)) is not in the vocabulary")
            }
            symbols.append(id)
        }
        while symbols.count > 1 {
            var best = Int.max, at = -1, mergedID = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[BPEModel.key(symbols[k], symbols[k + 1])], m.rank < best {
                    best = m.rank
                    at = k
                    mergedID = m.id
                }
            }
            if at < 0 { break }
            // Merge every occurrence of this pair, left to right, as the library does.
            let a = symbols[at], b = symbols[at + 1]
            var out: [Int] = []
            out.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count && symbols[k] == a && symbols[k + 1] == b {
                    out.append(mergedID)
                    k += 2
                } else {
                    out.append(symbols[k])
                    k += 1
                }
            }
            symbols = out
        }
        return symbols
    }
}
