import XCTest
import AdapterFormat

final class JSONValueTests: XCTestCase {
    func testParsesAndWritesBackCompactly() throws {
        let text = #"{"b":[1,-2.5,1e-05,true,false,null],"a":{"x":"é\n\"q\"\u0001"},"c":9007199254740993}"#
        let v = try JSONValue(parsing: text)
        XCTAssertEqual(v["c"], .int(9_007_199_254_740_993))
        XCTAssertEqual(v["b"]?.arrayValue?[2], .double(1e-05))
        XCTAssertEqual(v["a"]?["x"]?.stringValue, "é\n\"q\"\u{01}")
        XCTAssertEqual(try JSONValue(parsing: v.compactText), v)
        XCTAssertEqual(try JSONValue(parsing: v.prettyText()), v)
        // Key order is kept; canonicalized sorts it.
        XCTAssertEqual(v.objectValue?.map(\.key), ["b", "a", "c"])
        XCTAssertEqual(v.canonicalized.objectValue?.map(\.key), ["a", "b", "c"])
    }

    func testSurrogatePairs() throws {
        XCTAssertEqual(try JSONValue(parsing: #""\ud83d\ude00""#).stringValue, "😀")
        XCTAssertThrowsError(try JSONValue(parsing: #""\ud83d""#))
        XCTAssertThrowsError(try JSONValue(parsing: #""\ude00""#))
    }

    func testRejectsMalformedInput() {
        let bad = [
            "", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "tru", "\"abc", "{\"a\":1}x",
            "{\"a\":1,\"a\":2}", "\"\\x\"", "\"\u{01}\"", "[1 2]", "{1:2}", "NaN", "Infinity",
        ]
        for text in bad { XCTAssertThrowsError(try JSONValue(parsing: text), "accepted \(text.debugDescription)") }
        XCTAssertThrowsError(try JSONValue(parsing: [0x22, 0xFF, 0x22]), "invalid UTF-8")
        XCTAssertThrowsError(try JSONValue(parsing: [0x22, 0xC0, 0xAF, 0x22]), "overlong UTF-8")
    }

    func testDepthIsCapped() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONValue(parsing: deep))
        let ok = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertNoThrow(try JSONValue(parsing: ok))
    }

    func testNumbersWriteAsTheyRead() throws {
        XCTAssertEqual(JSONValue.number(16).compactText, "16")
        XCTAssertEqual(JSONValue.number(0.5).compactText, "0.5")
        XCTAssertEqual(JSONValue.double(2).compactText, "2.0")
        XCTAssertEqual(JSONValue.double(.nan).compactText, "null")
        for d in [0.1, 1e-300, 123456.789, -2.5e17, Double.leastNonzeroMagnitude] {
            XCTAssertEqual(try JSONValue(parsing: JSONValue.double(d).compactText).doubleValue, d)
        }
    }

    func testPrettyTextMatchesPythonLayout() {
        let v: JSONValue = ["a": [1, 2], "b": [:], "c": []]
        XCTAssertEqual(v.prettyText(), "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }
}
