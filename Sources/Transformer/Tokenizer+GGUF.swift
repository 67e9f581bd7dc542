import AdapterFormat

extension Tokenizer {
    /// llama.cpp's token types (`tokenizer.ggml.token_type`).
    enum GGUFTokenType: Int {
        case normal = 1
        case unknown, control, userDefined, unused, byte
    }

    /// The tokenizer a GGUF file declares in its `tokenizer.ggml.*` keys.
    ///
    /// - `gpt2`: byte-level BPE with the file's merges, split first by the
    ///   regexes llama.cpp gives the pre-tokenizer named in `tokenizer.ggml.pre`.
    ///   transformers' GGUF loader ignores that key and splits with GPT-2's
    ///   regex alone; where the two disagree (SmolLM2 splits digits one by one)
    ///   this follows the file, as llama.cpp does.
    /// - `llama`: SentencePiece-style BPE with byte fallback: `▁` for spaces and
    ///   in front of the text (`tokenizer.ggml.add_space_prefix`, default on),
    ///   merges ranked by the merged token's score, ties leftmost first.
    ///
    /// Control, unknown and user-defined tokens are matched in text as added tokens. BOS
    /// and EOS follow `tokenizer.ggml.add_bos_token`/`add_eos_token`, defaulting
    /// as llama.cpp does (BOS for `llama`, nothing for `gpt2`). Anything else is
    /// refused by name.
    public convenience init(gguf file: GGUFFile) throws {
        func bad(_ key: String, _ message: String) -> FormatError {
            FormatError(.unsupported, message, path: file.path, location: key)
        }
        guard let kind = try file.string("tokenizer.ggml.model") else {
            throw bad("tokenizer.ggml.model", "the file has no tokenizer (tokenizer.ggml.model is missing)")
        }
        guard kind == "gpt2" || kind == "llama" else {
            throw bad("tokenizer.ggml.model", "tokenizer model \"\(kind)\" is not supported (gpt2, llama)")
        }
        guard let tokens = try file.strings("tokenizer.ggml.tokens"), !tokens.isEmpty else {
            throw bad("tokenizer.ggml.tokens", "tokenizer.ggml.tokens is missing or empty")
        }
        guard tokens.count <= Tokenizer.maximumID else {
            throw bad(
                "tokenizer.ggml.tokens", "\(tokens.count) tokens is more than the \(Tokenizer.maximumID) supported")
        }
        let types = try file.integers("tokenizer.ggml.token_type") ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw bad("tokenizer.ggml.token_type", "has \(types.count) entries for \(tokens.count) tokens")
        }
        func type(_ id: Int) -> GGUFTokenType {
            types.isEmpty ? .normal : GGUFTokenType(rawValue: types[id]) ?? .normal
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(tokens.count)
        var added: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            if vocab[token] == nil { vocab[token] = id }
            let t = type(id)
            // llama.cpp matches unknown tokens in text too (its special-token cache holds them).
            if t == .control || t == .userDefined || t == .unknown {
                added.append(
                    AddedToken(
                        id: id, content: token, special: t != .userDefined, singleWord: false, leftStrip: false,
                        rightStrip: false))
            }
        }
        func tokenID(_ key: String) throws -> Int? {
            guard let id = try file.integer(key) else { return nil }
            guard (0..<tokens.count).contains(id) else { throw bad(key, "token id \(id) is outside the vocabulary") }
            return id
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id")
        let eos = try tokenID("tokenizer.ggml.eos_token_id")
        let pad = try tokenID("tokenizer.ggml.padding_token_id")
        /// The ids put around a text: BOS and EOS as the file asks.
        func ends(addBOS: Bool) throws -> (prefix: [Int], suffix: [Int]) {
            let addEOS = try file.bool("tokenizer.ggml.add_eos_token") ?? false
            if addBOS && bos == nil {
                throw bad("tokenizer.ggml.add_bos_token", "asks for BOS but bos_token_id is not set")
            }
            if addEOS && eos == nil {
                throw bad("tokenizer.ggml.add_eos_token", "asks for EOS but eos_token_id is not set")
            }
            return (addBOS ? bos.map { [$0] } ?? [] : [], addEOS ? eos.map { [$0] } ?? [] : [])
        }

        if kind == "gpt2" {
            guard let mergeTexts = try file.strings("tokenizer.ggml.merges") else {
                throw bad("tokenizer.ggml.merges", "a gpt2 tokenizer needs tokenizer.ggml.merges")
            }
            let merges = try mergeTexts.map { text -> (String, String) in
                guard let space = text.firstIndex(of: " ") else {
                    throw bad("tokenizer.ggml.merges", "merge \"\(text)\" is not two tokens")
                }
                return (String(text[..<space]), String(text[text.index(after: space)...]))
            }
            let name = try file.string("tokenizer.ggml.pre") ?? "default"
            guard let pre = Tokenizer.llamaCppPreTokenizers[name] else {
                let known = Tokenizer.llamaCppPreTokenizers.keys.sorted().joined(separator: ", ")
                throw bad("tokenizer.ggml.pre", "pre-tokenizer \"\(name)\" is not supported (\(known))")
            }
            let addBOS = try file.bool("tokenizer.ggml.add_bos_token") ?? pre.addsBOS
            try self.init(
                model: try BPEModel(vocab: vocab, merges: merges, ignoreMerges: pre.ignoreMerges),
                addedTokens: added, normalizers: [],
                preTokenizer: .byteLevel(
                    splits: try pre.splits.map(SplitPattern.checked(pattern:)), prefixSpace: false),
                decoders: [.byteLevel], prefixIDs: try ends(addBOS: addBOS).prefix,
                suffixIDs: try ends(addBOS: addBOS).suffix,
                bosID: bos, eosID: eos, padID: pad)
            return
        }

        // SentencePiece: every split of a token into two tokens is a merge, ranked by the token's score.
        guard let scores = try file.floats("tokenizer.ggml.scores"), scores.count == tokens.count else {
            throw bad("tokenizer.ggml.scores", "a llama tokenizer needs one score per token")
        }
        var order = Array(tokens.indices).filter { type($0) == .normal || type($0) == .userDefined }
        order.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var merges: [(String, String)] = []
        var ranks: [Int] = []
        var rank = -1
        var lastScore = Float.nan
        for id in order {
            if scores[id] != lastScore {
                rank += 1
                lastScore = scores[id]
            }
            let token = tokens[id]
            var cut = token.startIndex
            while cut < token.endIndex {
                cut = token.index(after: cut)
                guard cut < token.endIndex else { break }
                let left = String(token[..<cut])
                let right = String(token[cut...])
                if vocab[left] != nil, vocab[right] != nil {
                    merges.append((left, right))
                    ranks.append(rank)
                }
            }
        }
        let unknown = try tokenID("tokenizer.ggml.unknown_token_id") ?? tokens.indices.first { type($0) == .unknown }
        let prependSpace = try file.bool("tokenizer.ggml.add_space_prefix") ?? true
        let spmBOS = try file.bool("tokenizer.ggml.add_bos_token") ?? true
        try self.init(
            model: try BPEModel(
                vocab: vocab, merges: merges, ranks: ranks, ignoreMerges: false, byteFallback: true,
                unknownID: unknown, fuseUnknown: true),
            addedTokens: added,
            normalizers: (prependSpace ? [.prepend("▁")] : []) + [.replace(" ", "▁")], preTokenizer: .none,
            decoders: [.replace("▁", " "), .byteFallback, .fuse]
                + (prependSpace ? [.strip(content: " ", start: 1, stop: 0)] : []),
            prefixIDs: try ends(addBOS: spmBOS).prefix, suffixIDs: try ends(addBOS: spmBOS).suffix, bosID: bos,
            eosID: eos, padID: pad)
    }

    /// How llama.cpp pre-tokenizes a `gpt2` tokenizer, by `tokenizer.ggml.pre`
    /// (src/llama-vocab.cpp): the regexes, each applied in turn to the pieces of
    /// the one before, keeping what falls between matches; whether a word that
    /// is itself a token skips the merges; and whether BOS is added when the
    /// file does not say.
    struct LlamaCppPreTokenizer {
        let splits: [String]
        var ignoreMerges = false
        var addsBOS = false
    }

    static let llamaCppPreTokenizers: [String: LlamaCppPreTokenizer] = {
        let gpt2 = LlamaCppPreTokenizer(splits: [SplitPattern.gpt2Pattern])
        let llama3 = LlamaCppPreTokenizer(
            splits: [SplitPattern.llama3Pattern("{1,3}")], ignoreMerges: true, addsBOS: true)
        let qwen2 = LlamaCppPreTokenizer(splits: [SplitPattern.llama3Pattern("")])
        let digitsThenGPT2 = LlamaCppPreTokenizer(splits: [#"\p{N}"#, SplitPattern.gpt2Pattern])
        var table: [String: LlamaCppPreTokenizer] = [
            "default": LlamaCppPreTokenizer(
                splits: [#"[\p{P}\$\+<=>\^~\|]+"#, SplitPattern.gpt2Pattern, #"\p{N}+"#, "[0-9][0-9][0-9]"]),
            "dbrx": LlamaCppPreTokenizer(splits: llama3.splits),
            "smaug-bpe": LlamaCppPreTokenizer(splits: llama3.splits),
        ]
        for name in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"] {
            table[name] = llama3
        }
        for name in ["qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"] { table[name] = qwen2 }
        for name in ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"] {
            table[name] = digitsThenGPT2
        }
        for name in ["gpt-2", "phi-2", "jina-es", "jina-de", "mpt", "olmo", "jais", "exaone4"] { table[name] = gpt2 }
        return table
    }()
}
