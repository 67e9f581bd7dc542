import AdapterFormat
import TestSupport
import Transformer
import XCTest

/// SentencePiece-style BPE (byte fallback, Metaspace, Prepend/Replace normalizers) against the tokenizers
/// library: `scripts/fixtures/make_sentencepiece_fixtures.py` wrote the tokenizers and the expected ids.
final class SentencePieceTokenizerTests: XCTestCase {
    func testIdsAndTextEqualTheTokenizersLibrary() throws {
        let doc = try Fixtures.json("sentencepiece/cases.json")
        var tokenizers: [String: Tokenizer] = [:]
        let cases = try XCTUnwrap(doc["cases"]?.arrayValue)
        XCTAssertEqual(
            Set(cases.compactMap { $0["tokenizer"]?.stringValue }), ["llama2", "metaspace", "metaspace-split"])
        for c in cases {
            let name = try XCTUnwrap(c["tokenizer"]?.stringValue)
            let text = try XCTUnwrap(c["text"]?.stringValue)
            if tokenizers[name] == nil {
                tokenizers[name] = try Tokenizer(directory: Fixtures.path("sentencepiece/\(name)"))
            }
            let tokenizer = try XCTUnwrap(tokenizers[name])
            let expected = try XCTUnwrap(c["ids"]?.arrayValue).compactMap(\.intValue)
            let ids = try tokenizer.encode(text)
            XCTAssertEqual(ids, expected, "\(name): \(text.debugDescription)")
            XCTAssertEqual(
                try tokenizer.encode(text, addSpecialTokens: false),
                try XCTUnwrap(c["ids_without_specials"]?.arrayValue).compactMap(\.intValue),
                "\(name): \(text.debugDescription)")
            XCTAssertEqual(
                tokenizer.decode(expected, skipSpecialTokens: true), c["decoded"]?.stringValue,
                "\(name): \(text.debugDescription)")
        }
    }

    /// The byte pre-check of long rows holds only when no step can drop text without bound.
    func testTheByteBoundIsDroppedWhereTextCanShrink() throws {
        let path = Fixtures.path("sentencepiece/llama2/tokenizer.json")
        let json = try FileSystem.readJSON(path)
        XCTAssertTrue(try Tokenizer(json: json, config: nil).bytesBoundTokens)
        guard case .object(var fields) = json else { return XCTFail("not an object") }
        let strip: JSONValue = ["type": "Strip", "strip_left": true, "strip_right": true]
        fields = fields.map { $0.key == "normalizer" ? (key: "normalizer", value: strip) : $0 }
        XCTAssertFalse(try Tokenizer(json: .object(fields), config: nil).bytesBoundTokens)
    }
}
