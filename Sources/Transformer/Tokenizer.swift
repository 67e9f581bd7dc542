import AdapterFormat
import Foundation

/// A Hugging Face `tokenizer.json` with a BPE model: the ByteLevel family
/// (GPT-2, Llama 3, Qwen2) and the SentencePiece style with byte fallback
/// (Llama 2, TinyLlama, Mistral), with `tokenizer_config.json`'s BOS/EOS rules.
///
/// Encoding follows the `tokenizers` library step by step: added tokens are
/// cut out first (leftmost-longest), the rest is normalized (NFC, NFKC,
/// Prepend, Replace, Strip, as the file asks), cut into words by the
/// pre-tokenizer (ByteLevel with its split regex, Metaspace, or none), and
/// merged by BPE rank (unknown characters as `<0xNN>` byte tokens or the
/// unknown token); the post-processor then adds BOS/EOS. Decoding runs the
/// file's decoders. Anything else is refused by name.
public final class Tokenizer: @unchecked Sendable {
    /// A token the vocabulary treats as one unit wherever it appears.
    public struct AddedToken: Sendable {
        public let id: Int
        public let content: String
        public let special: Bool
        public let singleWord: Bool
        public let leftStrip: Bool
        public let rightStrip: Bool
    }

    public let model: BPEModel
    public let addedTokens: [AddedToken]
    let normalizers: [Normalizer]
    let preTokenizer: PreTokenizer
    let decoders: [Decoder]
    /// Ids the post-processor puts before and after a single sequence.
    public let prefixIDs: [Int]
    public let suffixIDs: [Int]
    public let bosID: Int?
    public let eosID: Int?
    public let padID: Int?
    /// The most UTF-8 bytes any one token stands for. A text of more than
    /// `n × longestTokenBytes × 4` bytes (4: what normalization can shrink)
    /// cannot fit in `n` tokens, so it is refused before it is tokenized.
    public let longestTokenBytes: Int
    /// Whether that byte bound holds: not when the pipeline can drop any amount of
    /// text (Strip, a Replace that shortens, fused unknown tokens, added tokens that
    /// strip the white space around them).
    public let bytesBoundTokens: Bool
    private let addedByID: [Int: AddedToken]
    private let specialIDs: Set<Int>

    /// Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a model directory.
    public convenience init(directory: String) throws {
        let path = FileSystem.join(directory, "tokenizer.json")
        let configPath = FileSystem.join(directory, "tokenizer_config.json")
        let json = try FileSystem.readJSON(path, limit: 512 << 20)
        let config = FileSystem.isRegularFile(configPath) ? try FileSystem.readJSON(configPath) : nil
        do {
            try self.init(json: json, config: config)
        } catch let e as TokenizerError {
            throw FormatError(.unsupported, e.message, path: path)
        } catch let e as FormatError {
            // Field errors name the file by its bare name; give the full path.
            throw FormatError(
                e.code, e.message, path: e.path == "tokenizer_config.json" ? configPath : path, location: e.location)
        }
    }

    public convenience init(json: JSONValue, config: JSONValue?) throws {
        guard let modelJSON = json["model"], modelJSON["type"]?.stringValue == "BPE" else {
            throw TokenizerError(
                "only BPE tokenizer models are supported (model.type is \(json["model"]?["type"]?.compactText ?? "missing"))"
            )
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = modelJSON[key], !v.isNull, v.stringValue != "" {
                throw TokenizerError("BPE \(key) is not supported")
            }
        }
        if let dropout = modelJSON["dropout"]?.doubleValue, dropout > 0 {
            throw TokenizerError("BPE dropout is not supported")
        }
        guard let vocabPairs = modelJSON["vocab"]?.objectValue else { throw TokenizerError("model.vocab is missing") }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(vocabPairs.count)
        for (token, id) in vocabPairs {
            guard let i = id.intValue, (0..<Tokenizer.maximumID).contains(i) else {
                throw TokenizerError("vocab id of \"\(token)\" is not an integer in 0..<\(Tokenizer.maximumID)")
            }
            vocab[token] = i
        }
        var merges: [(String, String)] = []
        for m in modelJSON["merges"]?.arrayValue ?? [] {
            if let s = m.stringValue {
                guard let space = s.firstIndex(of: " ") else {
                    throw TokenizerError("merge \"\(s)\" is not two tokens")
                }
                merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
            } else if let pair = m.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue
            {
                merges.append((a, b))
            } else {
                throw TokenizerError("a merge is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        let unkToken = modelJSON["unk_token"]?.stringValue
        let unkID = try unkToken.map { name -> Int in
            guard let id = vocab[name] else { throw TokenizerError("unk_token \"\(name)\" is not in the vocabulary") }
            return id
        }
        let model = try BPEModel(
            vocab: vocab, merges: merges, ignoreMerges: modelJSON["ignore_merges"]?.boolValue ?? false,
            byteFallback: modelJSON["byte_fallback"]?.boolValue ?? false, unknownID: unkID,
            fuseUnknown: modelJSON["fuse_unk"]?.boolValue ?? false)

        var added: [AddedToken] = []
        for (i, t) in (json["added_tokens"]?.arrayValue ?? []).enumerated() {
            let token = try JSONFields(
                t, path: "tokenizer.json", location: "added_tokens[\(i)]", what: "an added token")
            guard let id = try token.int("id", in: 0...(Tokenizer.maximumID - 1)),
                let content = try token.string("content")
            else {
                throw TokenizerError("added_tokens[\(i)] lacks id or content")
            }
            added.append(
                AddedToken(
                    id: id, content: content, special: try token.bool("special") ?? false,
                    singleWord: try token.bool("single_word") ?? false, leftStrip: try token.bool("lstrip") ?? false,
                    rightStrip: try token.bool("rstrip") ?? false))
        }
        let preTokenizer = try Tokenizer.parsePreTokenizer(json["pre_tokenizer"])
        let byContent = Dictionary(added.map { ($0.content, $0) }, uniquingKeysWith: { a, _ in a })

        // BOS/EOS come from the post-processor's template. transformers (5.x) ignores
        // tokenizer_config's add_bos_token/add_eos_token whenever tokenizer.json exists,
        // so they are honoured only for a post-processor-less file that is not ByteLevel-only.
        func tokenName(_ v: JSONValue?) -> String? { v?.stringValue ?? v?["content"]?.stringValue }
        func id(of name: String?) -> Int? { name.flatMap { byContent[$0]?.id ?? vocab[$0] } }
        let bosID = id(of: tokenName(config?["bos_token"]))
        let eosID = id(of: tokenName(config?["eos_token"]))
        var prefix: [Int] = []
        var suffix: [Int] = []
        if let template = try Tokenizer.parseTemplate(json["post_processor"]) {
            (prefix, suffix) = template
        } else if json["post_processor"] == nil || json["post_processor"]?.isNull == true {
            let flags = try config.map {
                try JSONFields($0, path: "tokenizer_config.json", what: "tokenizer_config.json")
            }
            if try flags?.bool("add_bos_token") == true, let bosID { prefix = [bosID] }
            if try flags?.bool("add_eos_token") == true, let eosID { suffix = [eosID] }
        }
        try self.init(
            model: model, addedTokens: added, normalizers: try Normalizer.parse(json["normalizer"]),
            preTokenizer: preTokenizer, decoders: try Decoder.parse(json["decoder"]), prefixIDs: prefix,
            suffixIDs: suffix, bosID: bosID, eosID: eosID, padID: id(of: tokenName(config?["pad_token"])))
    }

    /// A tokenizer from its parts, as `tokenizer.json` or a GGUF file describes them.
    init(
        model: BPEModel, addedTokens added: [AddedToken], normalizers: [Normalizer], preTokenizer: PreTokenizer,
        decoders: [Decoder], prefixIDs: [Int], suffixIDs: [Int], bosID: Int?, eosID: Int?, padID: Int?
    ) throws {
        self.model = model
        addedTokens = added
        self.normalizers = normalizers
        self.preTokenizer = preTokenizer
        self.decoders = decoders
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
        self.bosID = bosID
        self.eosID = eosID
        self.padID = padID
        let byteLevel = preTokenizer.isByteLevel
        let shrinks = normalizers.contains { step in
            switch step {
            case .strip: return true
            case .replace(let a, let b): return b.unicodeScalars.count < a.unicodeScalars.count
            default: return false
            }
        }
        // Fused unknown tokens swallow runs of text, unless byte fallback covers every byte.
        let fusesText = model.fuseUnknown && !model.fallsBackOnEveryByte
        bytesBoundTokens = !shrinks && !fusesText && !added.contains { $0.leftStrip || $0.rightStrip }
        longestTokenBytes = max(
            model.vocab.keys.map { byteLevel ? ByteLevel.decode($0).count : $0.utf8.count }.max() ?? 1,
            added.map(\.content.utf8.count).max() ?? 1, 1)
        addedByID = Dictionary(added.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        specialIDs = Set(added.filter(\.special).map(\.id))
        if decoders.contains(where: { if case .byteLevel = $0 { return true } else { return false } })
            != preTokenizer.isByteLevel
            && !decoders.isEmpty
        {
            throw TokenizerError("a ByteLevel decoder goes with a ByteLevel pre-tokenizer, and only with one")
        }
    }

    static func parsePreTokenizer(_ v: JSONValue?) throws -> PreTokenizer {
        guard let v, !v.isNull else { return .none }
        if v["type"]?.stringValue == "Metaspace" {
            let (replacement, scheme, split) = try metaspaceFields(v)
            return .metaspace(replacement: replacement, prepend: scheme, split: split)
        }
        var splits: [SplitPattern] = []
        var prefixSpace = false
        var sawByteLevel = false
        let items = v["type"]?.stringValue == "Sequence" ? (v["pretokenizers"]?.arrayValue ?? []) : [v]
        for item in items {
            switch item["type"]?.stringValue {
            case "ByteLevel":
                sawByteLevel = true
                prefixSpace = item["add_prefix_space"]?.boolValue ?? false
                if item["use_regex"]?.boolValue ?? true { splits.append(.gpt2) }
            case "Split":
                guard
                    let pattern = item["pattern"]?["Regex"]?.stringValue
                        ?? item["pattern"]?["String"]?.stringValue.map(NSRegularExpression.escapedPattern(for:))
                else {
                    throw TokenizerError("Split pre-tokenizer without a pattern")
                }
                guard item["behavior"]?.stringValue == "Isolated", item["invert"]?.boolValue != true else {
                    throw TokenizerError(
                        "Split behavior \(item["behavior"]?.compactText ?? "?") is not supported (only Isolated)")
                }
                splits.append(try SplitPattern.checked(pattern: pattern))
            case let other:
                throw TokenizerError(
                    "pre-tokenizer \(other ?? "?") is not supported (ByteLevel with Split, or Metaspace)")
            }
        }
        guard sawByteLevel else { throw TokenizerError("Split pre-tokenizers are supported only with ByteLevel") }
        return .byteLevel(splits: splits, prefixSpace: prefixSpace)
    }

    static func parseTemplate(_ v: JSONValue?) throws -> (prefix: [Int], suffix: [Int])? {
        guard let v, !v.isNull else { return nil }
        switch v["type"]?.stringValue {
        case "ByteLevel": return nil
        case "Sequence":
            var found: (prefix: [Int], suffix: [Int])?
            for p in v["processors"]?.arrayValue ?? [] { if let t = try parseTemplate(p) { found = t } }
            return found
        case "TemplateProcessing":
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            let specials = v["special_tokens"]
            for item in v["single"]?.arrayValue ?? [] {
                if item["Sequence"] != nil {
                    seenSequence = true
                    continue
                }
                guard let name = item["SpecialToken"]?["id"]?.stringValue,
                    let ids = specials?[name]?["ids"]?.arrayValue?.compactMap(\.intValue)
                else {
                    throw TokenizerError("TemplateProcessing item is neither a Sequence nor a known SpecialToken")
                }
                if seenSequence { suffix += ids } else { prefix += ids }
            }
            return (prefix, suffix)
        case let other:
            throw TokenizerError("post-processor \(other ?? "?") is not supported")
        }
    }
}

extension Tokenizer {
    /// Token ids of `text`; with `addSpecialTokens`, the post-processor's BOS/EOS too.
    public func encode(_ text: String, addSpecialTokens: Bool = true) throws -> [Int] {
        var ids = addSpecialTokens ? prefixIDs : []
        for (i, segment) in splitAddedTokens(text).enumerated() {
            switch segment {
            case .added(let token): ids.append(token.id)
            case .text(let t): try encodeOrdinary(t, atStart: i == 0, into: &ids)
            }
        }
        if addSpecialTokens { ids += suffixIDs }
        return ids
    }

    /// The token's spelling (in byte-level characters for ordinary tokens).
    public func token(for id: Int) -> String? {
        model.idToToken[id] ?? addedByID[id]?.content
    }

    /// A token as people read it: a byte-level token's text (its bytes as UTF-8),
    /// a SentencePiece token as spelled (`▁Hello`, `<0xC3>`).
    public func readable(_ id: Int) -> String? {
        guard let piece = token(for: id) else { return nil }
        guard preTokenizer.isByteLevel, addedByID[id] == nil else { return piece }
        return String(decoding: ByteLevel.decode(piece), as: UTF8.self)
    }

    /// The text of `ids` (invalid UTF-8 becomes U+FFFD, as the library does).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        if !preTokenizer.isByteLevel {
            let tokens = ids.compactMap { id -> String? in
                if skipSpecialTokens && specialIDs.contains(id) { return nil }
                return token(for: id)
            }
            return decoders.reduce(tokens) { $1.apply($0) }.joined()
        }
        var bytes: [UInt8] = []
        for id in ids {
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            if let added = addedByID[id], model.idToToken[id] == nil || added.special {
                bytes += Array(added.content.utf8)
            } else if let piece = model.idToToken[id] {
                bytes += ByteLevel.decode(piece)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Token ids must lie below this (2²⁴, far above any real vocabulary), so that
    /// a hostile file cannot make id-indexed tables or loops unbounded.
    public static let maximumID = 1 << 24

    /// The vocabulary size including added tokens (the largest id + 1).
    public var vocabularySize: Int {
        max(model.idToToken.keys.max() ?? -1, addedTokens.map(\.id).max() ?? -1) + 1
    }

    enum Segment {
        case text(String)
        case added(AddedToken)
    }

    /// Cuts added tokens out of the text, leftmost-longest, honouring lstrip/rstrip/single_word.
    func splitAddedTokens(_ text: String) -> [Segment] {
        guard !addedTokens.isEmpty else { return [.text(text)] }
        let scalars = Array(text.unicodeScalars)
        let byFirst = Dictionary(grouping: addedTokens.filter { !$0.content.isEmpty }) {
            $0.content.unicodeScalars.first!
        }
        var segments: [Segment] = []
        var pending = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            var best: (token: AddedToken, length: Int)?
            for candidate in byFirst[scalars[i]] ?? [] {
                let c = Array(candidate.content.unicodeScalars)
                guard i + c.count <= scalars.count, Array(scalars[i..<(i + c.count)]) == c else { continue }
                if candidate.singleWord {
                    let before = i > 0 ? scalars[i - 1] : nil
                    let after = i + c.count < scalars.count ? scalars[i + c.count] : nil
                    func isWord(_ s: Unicode.Scalar?) -> Bool {
                        s.map { CharacterClass.isLetter($0) || CharacterClass.isNumber($0) || $0 == "_" } ?? false
                    }
                    if isWord(before) || isWord(after) { continue }
                }
                if best == nil || c.count > best!.length { best = (candidate, c.count) }
            }
            guard let match = best else {
                pending.append(scalars[i])
                i += 1
                continue
            }
            if match.token.leftStrip {
                while let last = pending.last, CharacterClass.isWhitespace(last) { pending.removeLast() }
            }
            if !pending.isEmpty {
                segments.append(.text(String(pending)))
                pending = String.UnicodeScalarView()
            }
            segments.append(.added(match.token))
            i += match.length
            if match.token.rightStrip { while i < scalars.count && CharacterClass.isWhitespace(scalars[i]) { i += 1 } }
        }
        if !pending.isEmpty { segments.append(.text(String(pending))) }
        return segments
    }

    /// `text` (between added tokens) normalized, cut into words and merged; `atStart`: it begins the input.
    func encodeOrdinary(_ text: String, atStart: Bool, into ids: inout [Int]) throws {
        let normalized = normalizers.reduce(text) { $1.apply($0) }
        for word in try words(normalized, atStart: atStart) {
            ids += try model.encode(word: word)
        }
    }
}
