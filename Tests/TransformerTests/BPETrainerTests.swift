import XCTest
import AdapterFormat
import TestSupport
@testable import Transformer

/// The BPE trainer: the tokenizer it writes loads, round-trips any text
/// losslessly, merges the most frequent pairs first, and has the asked size.
final class BPETrainerTests: XCTestCase {
    func testTrainedTokenizerLoadsAndRoundTrips() throws {
        let corpus = (0..<200).map { i in
            [
                "the dog sleeps in the garden .", "Anna visits Paris every day .", "де кат финдс де боок .",
                "πλαι ζομε φολκα μυζικα", "the river near the old bridge",
            ][i % 5] + " \(i % 7)"
        }
        let result = try BPETrainer.train(corpus, vocabularySize: 320)
        XCTAssertEqual(result.merges, 320 - 256 - 3)
        let dir = try Fixtures.scratchDirectory()
        try Fixtures.write(Array(result.tokenizer.prettyText().utf8), to: dir + "/tokenizer.json")
        try Fixtures.write(Array(result.config.prettyText().utf8), to: dir + "/tokenizer_config.json")
        let tokenizer = try Tokenizer(directory: dir)
        XCTAssertEqual(tokenizer.vocabularySize, 320)
        XCTAssertEqual(tokenizer.bosID, 317)
        XCTAssertEqual(tokenizer.eosID, 318)
        XCTAssertEqual(tokenizer.padID, 319)
        for text in corpus.prefix(5) + ["unseen words: Zürich 🚀 日本語", "  spaces\n\nand\ttabs", ""] {
            let ids = try tokenizer.encode(text)
            XCTAssertEqual(ids.first, 317, "BOS from the post-processor")
            XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), text)
        }
        // Frequent words become single tokens; the first merge is the most frequent pair.
        XCTAssertEqual(try tokenizer.encode(" the", addSpecialTokens: false).count, 1)
        let firstMerge = try XCTUnwrap(
            result.tokenizer["model"]?["merges"]?.arrayValue?.first?.arrayValue?.compactMap(\.stringValue))
        XCTAssertEqual(firstMerge.count, 2)
        // Deterministic.
        XCTAssertEqual(try BPETrainer.train(corpus, vocabularySize: 320).tokenizer, result.tokenizer)
        XCTAssertThrowsError(try BPETrainer.train(corpus, vocabularySize: 100))
    }
}
