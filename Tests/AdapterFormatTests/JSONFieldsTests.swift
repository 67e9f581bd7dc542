import AdapterFormat
import XCTest

/// Strict field access: wrong types and unknown keys are errors naming the key, never defaults.
final class JSONFieldsTests: XCTestCase {
    func fields(_ text: String, location: String = "") throws -> JSONFields {
        try JSONFields(try JSONValue(parsing: Array(text.utf8)), path: "f.json", location: location)
    }

    func testTypesAreCheckedAndNullIsAbsent() throws {
        let f = try fields(
            #"{"b": "yes", "n": "1e-5", "i": 2.5, "s": 5, "list": ["a", 3], "ok": true, "none": null, "inf": 1e400}"#)
        for (call, key) in [
            ({ _ = try f.bool("b") }, "b"), ({ _ = try f.double("n") }, "n"), ({ _ = try f.int("i") }, "i"),
            ({ _ = try f.string("s") }, "s"), ({ _ = try f.stringArray("list") }, "list[1]"),
            ({ _ = try f.double("inf") }, "inf"),
        ] as [(() throws -> Void, String)] {
            XCTAssertThrowsError(try call()) { error in
                XCTAssertEqual((error as? FormatError)?.location, key, "\(error)")
                XCTAssertEqual((error as? FormatError)?.path, "f.json")
            }
        }
        XCTAssertEqual(try f.bool("ok"), true)
        XCTAssertNil(try f.bool("none"))
        XCTAssertNil(try f.string("missing"))
        XCTAssertThrowsError(try f.int("i", in: 0...1))
    }

    func testUnknownKeysAndNestedPlaces() throws {
        let f = try fields(#"{"inputs": [{"path": "a", "weigth": 1}]}"#, location: "")
        let item = try JSONFields(
            try XCTUnwrap(f["inputs"]?.arrayValue?.first), path: "f.json", location: f.place("inputs[0]"))
        XCTAssertThrowsError(try item.rejectUnknownKeys(["path", "weight"])) { error in
            XCTAssertEqual("\(error)", "f.json: inputs[0].weigth: unknown key (expected one of path, weight)")
        }
        let row = try fields(#"{"lang": 7}"#, location: "line 3")
        XCTAssertThrowsError(try row.string("lang")) { XCTAssertEqual(($0 as? FormatError)?.location, "line 3: lang") }
        XCTAssertThrowsError(try JSONFields(.array([]), path: "f.json", what: "a recipe"))
        // Fuzz/findings/recipe-*: an unknown empty key is named, not left blank.
        XCTAssertThrowsError(try fields(#"{"": 1}"#).rejectUnknownKeys(["a"])) {
            XCTAssertEqual(($0 as? FormatError)?.location, "\"\"")
        }
    }

    func testCommaListsRefuseEmptyItems() {
        XCTAssertEqual(CommaList.items(" 1, -0.5 ,2"), ["1", "-0.5", "2"])
        for bad in ["", "1,,2", "1,", ",1", " , "] { XCTAssertNil(CommaList.items(bad), bad) }
    }
}
