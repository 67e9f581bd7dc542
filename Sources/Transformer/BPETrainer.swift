import AdapterFormat

/// Trains a ByteLevel BPE tokenizer, as the tokenizers library's `BpeTrainer`
/// does for GPT-2 / Llama 3 style models: text is split by the Llama 3
/// pattern, each piece becomes its bytes in the ByteLevel alphabet, and the
/// most frequent adjacent pair is merged until the vocabulary is full.
///
/// The result is a `tokenizer.json` (and `tokenizer_config.json`) in the
/// format transformers writes: ``Tokenizer`` and the tokenizers library read
/// it and agree token for token.
public enum BPETrainer {
    /// Llama 3's split pattern (what `SplitPattern` recognises as `.llama3`).
    public static let splitPattern =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

    public static let defaultSpecialTokens = ["<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"]

    struct Pair: Hashable {
        let a: Int
        let b: Int
    }

    /// The trained files.
    public struct Result {
        public let tokenizer: JSONValue
        public let config: JSONValue
        public let merges: Int
    }

    /// Trains on `texts` up to `vocabularySize` ids (the 256 byte symbols, the
    /// merges, then `specialTokens`, the first being BOS, the second EOS and
    /// the third padding). Pairs seen fewer than `minimumFrequency` times are
    /// not merged. Ties between equally frequent pairs go to the pair whose
    /// strings sort first, so training is deterministic.
    public static func train(
        _ texts: [String], vocabularySize: Int, specialTokens: [String] = defaultSpecialTokens,
        minimumFrequency: Int = 2, maximumLength: Int = 512
    ) throws -> Result {
        guard specialTokens.count >= 3 else { throw TokenizerError("give BOS, EOS and padding special tokens") }
        guard vocabularySize >= 256 + specialTokens.count else {
            throw TokenizerError(
                "a vocabulary needs at least \(256 + specialTokens.count) ids (256 bytes and the special tokens)")
        }
        // Words: split pieces in ByteLevel symbols, with their counts.
        let split = SplitPattern(pattern: splitPattern)
        var counts: [String: Int] = [:]
        for text in texts {
            for piece in try split.split(text) where !piece.isEmpty {
                counts[ByteLevel.encode(piece.utf8), default: 0] += 1
            }
        }
        var tokens = ByteLevel.scalars.map { String($0) }
        let idOf = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        let wordsSorted = counts.keys.sorted()
        var words: [[Int]] = wordsSorted.map { w in w.unicodeScalars.map { idOf[String($0)] ?? 0 } }
        let frequency = wordsSorted.map { counts[$0]! }

        var pairCounts: [Pair: Int] = [:]
        var occurrences: [Pair: Set<Int>] = [:]
        for (w, symbols) in words.enumerated() where symbols.count > 1 {
            for i in 0..<(symbols.count - 1) {
                let p = Pair(a: symbols[i], b: symbols[i + 1])
                pairCounts[p, default: 0] += frequency[w]
                occurrences[p, default: []].insert(w)
            }
        }
        var merges: [(String, String)] = []
        let target = vocabularySize - specialTokens.count
        while tokens.count < target {
            var best: (pair: Pair, count: Int)?
            for (p, c) in pairCounts where c >= minimumFrequency {
                guard let current = best else {
                    best = (p, c)
                    continue
                }
                if c > current.count
                    || (c == current.count
                        && (tokens[p.a], tokens[p.b]) < (tokens[current.pair.a], tokens[current.pair.b]))
                {
                    best = (p, c)
                }
            }
            guard let chosen = best?.pair else { break }
            let merged = tokens[chosen.a] + tokens[chosen.b]
            guard merged.unicodeScalars.count <= maximumLength else {
                pairCounts[chosen] = nil
                continue
            }
            let newID = tokens.count
            tokens.append(merged)
            merges.append((tokens[chosen.a], tokens[chosen.b]))
            for w in occurrences[chosen] ?? [] {
                let old = words[w]
                var updated: [Int] = []
                updated.reserveCapacity(old.count)
                var i = 0
                while i < old.count {
                    if i + 1 < old.count && old[i] == chosen.a && old[i + 1] == chosen.b {
                        updated.append(newID)
                        i += 2
                    } else {
                        updated.append(old[i])
                        i += 1
                    }
                }
                // Replace the word's pairs: remove the old ones, add the new ones.
                for i in 0..<max(0, old.count - 1) {
                    let p = Pair(a: old[i], b: old[i + 1])
                    pairCounts[p, default: 0] -= frequency[w]
                    if pairCounts[p]! <= 0 { pairCounts[p] = nil }
                }
                for i in 0..<max(0, old.count - 1) { occurrences[Pair(a: old[i], b: old[i + 1])]?.remove(w) }
                for i in 0..<max(0, updated.count - 1) {
                    let p = Pair(a: updated[i], b: updated[i + 1])
                    pairCounts[p, default: 0] += frequency[w]
                    occurrences[p, default: []].insert(w)
                }
                words[w] = updated
            }
            pairCounts[chosen] = nil
            occurrences[chosen] = nil
        }
        return Result(
            tokenizer: tokenizerJSON(tokens: tokens, merges: merges, specials: specialTokens),
            config: configJSON(firstSpecialID: tokens.count, specials: specialTokens), merges: merges.count)
    }

    static func tokenizerJSON(tokens: [String], merges: [(String, String)], specials: [String]) -> JSONValue {
        let bos = specials[0]
        let bosID = tokens.count
        let bosEntry: JSONValue = ["id": .string(bos), "ids": .array([.int(bosID)]), "tokens": .array([.string(bos)])]
        let added: [JSONValue] = specials.enumerated().map { i, content in
            [
                "id": .int(tokens.count + i), "content": .string(content), "single_word": false, "lstrip": false,
                "rstrip": false,
                "normalized": false, "special": true,
            ]
        }
        return [
            "version": "1.0",
            "truncation": .null,
            "padding": .null,
            "added_tokens": .array(added),
            "normalizer": .null,
            "pre_tokenizer": [
                "type": "Sequence",
                "pretokenizers": [
                    [
                        "type": "Split", "pattern": ["Regex": .string(splitPattern)], "behavior": "Isolated",
                        "invert": false,
                    ],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
                ],
            ],
            "post_processor": [
                "type": "Sequence",
                "processors": [
                    ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
                    [
                        "type": "TemplateProcessing",
                        "single": [
                            ["SpecialToken": ["id": .string(bos), "type_id": 0]],
                            ["Sequence": ["id": "A", "type_id": 0]],
                        ],
                        "pair": [
                            ["SpecialToken": ["id": .string(bos), "type_id": 0]],
                            ["Sequence": ["id": "A", "type_id": 0]],
                            ["SpecialToken": ["id": .string(bos), "type_id": 1]],
                            ["Sequence": ["id": "B", "type_id": 1]],
                        ],
                        "special_tokens": .object([(key: bos, value: bosEntry)]),
                    ],
                ],
            ],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": .null, "unk_token": .null, "continuing_subword_prefix": .null,
                "end_of_word_suffix": .null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": .object(tokens.enumerated().map { (key: $1, value: .int($0)) }),
                "merges": .array(merges.map { [.string($0.0), .string($0.1)] }),
            ],
        ]
    }

    static func configJSON(firstSpecialID: Int, specials: [String]) -> JSONValue {
        [
            "added_tokens_decoder": .object(
                specials.enumerated().map { i, content in
                    (
                        key: String(firstSpecialID + i),
                        value: [
                            "content": .string(content), "lstrip": false, "normalized": false,
                            "rstrip": false, "single_word": false, "special": true,
                        ]
                    )
                }),
            "bos_token": .string(specials[0]),
            "eos_token": .string(specials[1]),
            "pad_token": .string(specials[2]),
            "clean_up_tokenization_spaces": false,
            "model_max_length": 1_000_000,
            "tokenizer_class": "PreTrainedTokenizerFast",
        ]
    }
}
