// libFuzzer target `tokenizer`: Tokenizer(json:config:) on a tokenizer.json,
// then encoding and decoding.
//
// Input layout: up to three parts separated by a NUL byte (0x00), which
// cannot occur in valid JSON text:
//
//   <tokenizer.json> [ 0x00 <tokenizer_config.json> [ 0x00 <text> ] ]
//
//   - tokenizer.json is parsed with JSONValue(parsing:); a parse error ends
//     the input (a thrown error, as for any reader);
//   - tokenizer_config.json is optional; an empty part or one that is not
//     JSON is passed as `nil` (no config), so a broken config part does not
//     waste the input;
//   - the text (any bytes, decoded as UTF-8 with U+FFFD for ill-formed
//     sequences, as String(decoding:) does) is encoded after the fixed texts
//     below. Its first 4096 bytes are used.
//
// Each text is encoded with and without special tokens; the ids are decoded
// with and without skipping special tokens, and every id is looked up with
// token(for:). Any thrown error is fine; a trap, an ASan report, a hang
// (libFuzzer -timeout=10) or an out-of-memory is a finding.
//
// FUZZ_STRICT_ERRORS: a TokenizerError thrown by Tokenizer(json:config:) counts
// as located, because Tokenizer(directory:) wraps it in a FormatError naming
// tokenizer.json. A TokenizerError thrown by encode(_:) names neither the
// tokenizer file nor the text, and counts as an error without a location.

import AdapterFormat
import Transformer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    guard let first = parts.first else { return 0 }
    let json: JSONValue
    do {
        json = try JSONValue(parsing: first)
    } catch {
        FuzzLog.error(error)
        return 0
    }
    let config = parts.count > 1 ? try? JSONValue(parsing: parts[1]) : nil
    let tokenizer: Tokenizer
    do {
        tokenizer = try Tokenizer(json: json, config: config)
    } catch {
        FuzzLog.error(error, located: error is TokenizerError)
        return 0
    }
    var texts = TokenizerFuzz.texts
    if parts.count > 2 { texts.append(String(decoding: parts[2].prefix(4096), as: UTF8.self)) }
    _ = tokenizer.vocabularySize
    for (k, text) in texts.enumerated() {
        do {
            let ids = try tokenizer.encode(text, addSpecialTokens: k % 2 == 0)
            _ = tokenizer.decode(ids)
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
            for id in ids { _ = tokenizer.token(for: id) }
            let plain = try tokenizer.encode(text, addSpecialTokens: k % 2 != 0)
            _ = tokenizer.decode(plain)
        } catch {
            FuzzLog.error(error)
        }
    }
    // Ids the vocabulary does not hold decode to nothing, never trap.
    _ = tokenizer.decode([-1, 0, 1, Int.max, Int.min, tokenizer.vocabularySize])
    return 0
}

enum TokenizerFuzz {
    /// Fixed texts: ASCII with contractions and digits, Latin with
    /// combining marks (NFC matters), CJK, Cyrillic, Arabic, Devanagari,
    /// emoji with ZWJ and skin tones, odd whitespace and line breaks,
    /// the special tokens of the fixtures' vocabularies, and an isolated
    /// surrogate-free but unusual scalar mix.
    static let texts: [String] = [
        "Hello, world! It's 12345 o'clock; I'LL say we'd've won.",
        "Gru\u{0308}\u{00DF}e aus Mu\u{0308}nchen \u{2014} na\u{00EF}ve caf\u{00E9}, \u{017F}tra\u{00DF}e",
        "\u{65E5}\u{672C}\u{8A9E}\u{306E}\u{30C6}\u{30AD}\u{30B9}\u{30C8}\u{3002}\u{4E2D}\u{6587}\u{FF0C}\u{D55C}\u{AD6D}\u{C5B4}",
        "\u{041F}\u{0440}\u{0438}\u{0432}\u{0435}\u{0442}, \u{043C}\u{0438}\u{0440}! \u{0645}\u{0631}\u{062D}\u{0628}\u{0627} \u{0628}\u{0627}\u{0644}\u{0639}\u{0627}\u{0644}\u{0645} \u{0928}\u{092E}\u{0938}\u{094D}\u{0924}\u{0947}",
        "\u{1F44D}\u{1F3FD} \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} \u{1F1E9}\u{1F1EA} \u{FE0F}\u{200B}\u{FEFF}",
        "  \n\r\n\t tabs\u{00A0}and\u{2003}spaces \u{2028}\r\r\n\n  ",
        "<|begin_of_text|>hi<|end_of_text|><|pad|> <|endoftext|><|im_start|>user<|im_end|>",
        "\u{0000}\u{0001}\u{007F}\u{0080}\u{FFFD}\u{10FFFF}\u{E000} \u{2167}\u{00BD}\u{0663}\u{FF11}",
        "",
    ]
}
