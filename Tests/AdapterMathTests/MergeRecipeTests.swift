import AdapterFormat
import AdapterMath
import XCTest

/// The recipe reader, strict as its format is adaptermerge's own.
final class MergeRecipeTests: XCTestCase {
    func recipe(_ text: String) throws -> MergeRecipe {
        try MergeRecipe(json: try JSONValue(parsing: Array(text.utf8)), path: "ci/merge.json")
    }

    func testPathsResolveAgainstTheRecipe() throws {
        let r = try recipe(
            #"{"inputs": ["a.lora", {"path": "/abs/b.lora", "weight": -0.5, "layers": "2-=0"}], "output": "m.lora"}"#)
        XCTAssertEqual(r.inputs, ["ci/a.lora", "/abs/b.lora"])
        XCTAssertEqual(r.weights, [1, -0.5])
        XCTAssertEqual(r.output, "ci/m.lora")
        XCTAssertEqual(r.layerBands[1]?.factor(layer: 3), 0)
    }

    func testMistakesAreRefusedByKey() throws {
        for (text, place) in [
            (#"{"inputs": ["a"], "methd": "svd"}"#, "methd"),
            (#"{"inputs": [{"path": "a", "weigth": 0.5}]}"#, "inputs[0].weigth"),
            (#"{"inputs": [{"path": "a", "weight": "1"}]}"#, "inputs[0].weight"),
            (#"{"inputs": ["a"], "rank": 0}"#, "rank"),
            (#"{"inputs": ["a"], "density": 2}"#, "density"),
            (#"{"inputs": ["a"], "output": ""}"#, "output"),  // Fuzz/findings/recipe-empty-output.input
            (#"{"inputs": ["a"], "": 1}"#, "\"\""),  // Fuzz/findings/recipe-empty-key.input
            (#"{"inputs": [{"path": "a", "layers": "1,,2=0"}]}"#, "inputs[0].layers"),
        ] {
            XCTAssertThrowsError(try recipe(text), text) { error in
                XCTAssertEqual((error as? FormatError)?.location, place, "\(text): \(error)")
            }
        }
    }
}
