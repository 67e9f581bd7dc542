import AdapterFormat
import TestSupport
import Transformer
import XCTest

/// The two prompt rules: adaptermerge's separate tokenization, and the paper's reference
/// (`tokenizer(prefix + text)`, masking `len(tokenizer(prefix))` tokens).
final class PromptTokenizationTests: XCTestCase {
    func row(_ prefix: String, _ text: String) throws -> DataRow {
        DataRow(file: "rows.jsonl", line: 1, fields: ["prefix": .string(prefix), "text": .string(text)])
    }

    func testJointIsTheReferenceRule() throws {
        let tokenizer = try Tokenizer(directory: Fixtures.path("runtime/llama"))
        for (prefix, text) in [
            ("Translate to German: The dog sleeps.\nGerman:", " Der Hund schläft."), ("Say hel", "lo there"),
        ] {
            let joint = try row(prefix, text).scoringExample(tokenizer: tokenizer, maxLength: 128, prompt: .joint)
            XCTAssertEqual(joint.ids, try tokenizer.encode(prefix + text))
            XCTAssertEqual(joint.promptLength, try tokenizer.encode(prefix).count)
            let separate = try row(prefix, text).scoringExample(tokenizer: tokenizer, maxLength: 128)
            XCTAssertEqual(
                separate.ids,
                tokenizer.prefixIDs + (try tokenizer.encode(prefix, addSpecialTokens: false))
                    + (try tokenizer.encode(text, addSpecialTokens: false)))
        }
        // A token spanning the boundary ("hel" + "lo"): the rules differ, and the reference's mask follows the prefix alone.
        let a = try row("Say hel", "lo there").scoringExample(tokenizer: tokenizer, maxLength: 128, prompt: .joint)
        let b = try row("Say hel", "lo there").scoringExample(tokenizer: tokenizer, maxLength: 128)
        XCTAssertNotEqual(a.ids, b.ids)
        XCTAssertThrowsError(try row("Say", "").scoringExample(tokenizer: tokenizer, maxLength: 128, prompt: .joint))
    }
}
