import XCTest
import AdapterFormat
import TestSupport
@testable import Transformer

/// Token for token against the tokenizers library (Tests/Fixtures/runtime/tokenizer_cases.json).
final class TokenizerTests: XCTestCase {
    func testEncodingEqualsTheTokenizersLibrary() throws {
        let fixture = try Fixtures.json("runtime/tokenizer_cases.json")
        let variants = try XCTUnwrap(fixture["variants"]?.objectValue)
        let cases = try XCTUnwrap(fixture["cases"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 50)
        for (variant, info) in variants {
            let dir = try XCTUnwrap(info["dir"]?.stringValue)
            let tokenizer = try Tokenizer(directory: Fixtures.path("runtime/\(dir)"))
            XCTAssertEqual(tokenizer.vocabularySize, info["vocab_size_with_added"]?.intValue, variant)
            XCTAssertEqual(tokenizer.bosID, info["bos_token_id"]?.intValue, variant)
            XCTAssertEqual(tokenizer.eosID, info["eos_token_id"]?.intValue, variant)
            XCTAssertEqual(tokenizer.padID, info["pad_token_id"]?.intValue, variant)
            for c in cases {
                let text = try XCTUnwrap(c["text"]?.stringValue)
                let name = c["name"]?.stringValue ?? text
                let expected = try XCTUnwrap(c[variant])
                let with = try tokenizer.encode(text, addSpecialTokens: true)
                XCTAssertEqual(
                    with, expected["ids_with_specials"]?.arrayValue?.compactMap(\.intValue), "\(variant): \(name)")
                XCTAssertEqual(
                    try tokenizer.encode(text, addSpecialTokens: false),
                    expected["ids_without_specials"]?.arrayValue?.compactMap(\.intValue), "\(variant): \(name)")
                XCTAssertEqual(
                    with.map { tokenizer.token(for: $0) ?? "?" },
                    expected["tokens"]?.arrayValue?.compactMap(\.stringValue),
                    "\(variant): \(name)")
                XCTAssertEqual(tokenizer.decode(with), expected["decoded"]?.stringValue, "\(variant): \(name)")
                XCTAssertEqual(
                    tokenizer.decode(with, skipSpecialTokens: true), expected["decoded_skip_special"]?.stringValue,
                    "\(variant): \(name)")
            }
        }
    }

    func testSplitPatternsAreRecognised() {
        if case .llama3(let digits) = SplitPattern(pattern: SplitPattern.llama3Pattern("{1,3}")) {
            XCTAssertEqual(digits, 3)
        } else {
            XCTFail()
        }
        if case .llama3(let digits) = SplitPattern(pattern: SplitPattern.llama3Pattern("")) {
            XCTAssertEqual(digits, 1)
        } else {
            XCTFail()
        }
        if case .gpt2 = SplitPattern(pattern: SplitPattern.gpt2Pattern) {} else { XCTFail() }
    }

    func testByteLevelMapIsABijection() {
        XCTAssertEqual(Set(ByteLevel.scalars).count, 256)
        let all = (0...255).map(UInt8.init)
        XCTAssertEqual(ByteLevel.decode(ByteLevel.encode(all)), all)
        XCTAssertEqual(ByteLevel.encode(Array(" ".utf8)), "Ġ")
    }

    func testRefusesSentencePieceStyleTokenizers() {
        let json: JSONValue = ["model": ["type": "Unigram"]]
        XCTAssertThrowsError(try Tokenizer(json: json, config: nil))
        let metaspace: JSONValue = [
            "model": ["type": "BPE", "vocab": [:], "merges": []], "pre_tokenizer": ["type": "Metaspace"],
        ]
        XCTAssertThrowsError(try Tokenizer(json: metaspace, config: nil)) { error in
            XCTAssertTrue("\(error)".contains("Metaspace"), "\(error)")
        }
    }
}
