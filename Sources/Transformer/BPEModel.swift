import Foundation

/// A BPE vocabulary with its merge ranks: byte-level (GPT-2, Llama 3, Qwen2) or
/// SentencePiece style, where a character outside the vocabulary becomes its
/// UTF-8 bytes as `<0xNN>` tokens (`byte_fallback`) or the unknown token.
///
/// Words are split into single (mapped) characters, then the adjacent pair with
/// the lowest merge rank is merged, leftmost first, until no pair has a rank,
/// exactly as the `tokenizers` library does. Results are cached per word.
public final class BPEModel: @unchecked Sendable {
    public let vocab: [String: Int]
    public let idToToken: [Int: String]
    /// Pair of token ids → (rank, merged id).
    private let merges: [UInt64: (rank: Int, id: Int)]
    /// `ignore_merges` (Llama 3): a word that is itself in the vocabulary is one token.
    public let ignoreMerges: Bool
    /// `<0xNN>` tokens for characters outside the vocabulary, when all of a character's bytes have one.
    public let byteFallback: Bool
    /// `unk_token`'s id: what an unknown character becomes otherwise.
    public let unknownID: Int?
    /// Consecutive unknown characters become one unknown token.
    public let fuseUnknown: Bool
    private let byteIDs: [Int?]

    /// Whether byte fallback can spell every character, so no unknown token is ever needed.
    public var fallsBackOnEveryByte: Bool { byteFallback && byteIDs.allSatisfy { $0 != nil } }
    private var cache: [String: [Int]] = [:]
    private let cacheLimit = 100_000

    /// - Parameter ranks: each merge's rank, when it is not its index: a
    ///   SentencePiece vocabulary (GGUF `llama`) ranks a merge by its result's
    ///   score, and pairs of equal score merge leftmost first, as llama.cpp does.
    public init(
        vocab: [String: Int], merges: [(String, String)], ranks: [Int]? = nil, ignoreMerges: Bool,
        byteFallback: Bool = false, unknownID: Int? = nil, fuseUnknown: Bool = false
    ) throws {
        self.vocab = vocab
        self.byteFallback = byteFallback
        self.unknownID = unknownID
        self.fuseUnknown = fuseUnknown
        byteIDs = (0..<256).map { vocab[String(format: "<0x%02X>", $0)] }
        var inverse: [Int: String] = [:]
        for (token, id) in vocab { inverse[id] = token }
        idToToken = inverse
        self.ignoreMerges = ignoreMerges
        var table: [UInt64: (rank: Int, id: Int)] = [:]
        for (rank, pair) in merges.enumerated() {
            guard let a = vocab[pair.0], let b = vocab[pair.1], let merged = vocab[pair.0 + pair.1] else {
                throw TokenizerError(
                    "merge \"\(pair.0) \(pair.1)\" (rank \(rank)) uses tokens missing from the vocabulary")
            }
            let key = BPEModel.key(a, b)
            if table[key] == nil { table[key] = (ranks?[rank] ?? rank, merged) }
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
            if let id = vocab[String(scalar)] {
                symbols.append(id)
                continue
            }
            if byteFallback {
                let bytes = Array(String(scalar).utf8).map { byteIDs[Int($0)] }
                if bytes.allSatisfy({ $0 != nil }) {
                    symbols += bytes.compactMap { $0 }
                    continue
                }
            }
            guard let unknownID else {
                throw TokenizerError(
                    "character U+\(String(scalar.value, radix: 16, uppercase: true)) is not in the vocabulary")
            }
            if !(fuseUnknown && symbols.last == unknownID) { symbols.append(unknownID) }
        }
        return symbols.count > 1 ? mergeAll(symbols) : symbols
    }

    /// Applies merges lowest rank first, leftmost first among equals, as the
    /// `tokenizers` library does: a heap of candidate pairs over a linked list
    /// of symbols, so a word of n symbols costs O(n log n), not O(n²) (a
    /// hostile text can be one very long word).
    private func mergeAll(_ initial: [Int]) -> [Int] {
        let n = initial.count
        var id = initial
        var next = Array(1...n)
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        // Entries (rank, position, merged id), ordered by rank then position.
        var heap: [(rank: Int, position: Int, merged: Int)] = []
        heap.reserveCapacity(n)
        func less(_ a: (rank: Int, position: Int, merged: Int), _ b: (rank: Int, position: Int, merged: Int)) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.position < b.position
        }
        func push(_ position: Int) {
            let right = next[position]
            guard right < n, let m = merges[BPEModel.key(id[position], id[right])] else { return }
            heap.append((m.rank, position, m.id))
            var k = heap.count - 1
            while k > 0 {
                let parent = (k - 1) / 2
                guard less(heap[k], heap[parent]) else { break }
                heap.swapAt(k, parent)
                k = parent
            }
        }
        func pop() -> (rank: Int, position: Int, merged: Int) {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var k = 0
                while true {
                    let l = 2 * k + 1
                    let r = l + 1
                    var smallest = k
                    if l < heap.count && less(heap[l], heap[smallest]) { smallest = l }
                    if r < heap.count && less(heap[r], heap[smallest]) { smallest = r }
                    if smallest == k { break }
                    heap.swapAt(k, smallest)
                    k = smallest
                }
            }
            return top
        }
        for position in 0..<(n - 1) { push(position) }
        while !heap.isEmpty {
            let top = pop()
            let right = next[top.position]
            // Stale entries: the left symbol was merged away, or the pair has changed.
            guard alive[top.position], right < n,
                let m = merges[BPEModel.key(id[top.position], id[right])], m.id == top.merged
            else { continue }
            id[top.position] = top.merged
            alive[right] = false
            next[top.position] = next[right]
            if next[right] < n { previous[next[right]] = top.position }
            if previous[top.position] >= 0 { push(previous[top.position]) }
            push(top.position)
        }
        return (0..<n).filter { alive[$0] }.map { id[$0] }
    }
}
