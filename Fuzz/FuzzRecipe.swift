// libFuzzer target `recipe`: a `combine --recipe` document.
//
// The input is the recipe file. It is parsed with JSONValue(parsing:) and read
// with MergeRecipe(json:path:) (path "recipes/merge.json", so relative input
// paths resolve under "recipes/"). For a recipe the reader accepts, the
// target checks what `combine` relies on:
//   - at least one input, one weight per input, every weight finite;
//   - every input path and the output (when given) non-empty, and absolute
//     or under the recipe's directory;
//   - layer bands only for existing inputs, and every band's factor finite;
//     LayerBands.factor(layer:) is asked for layers 0...40 and for nil (a
//     module without a layer index) and must give a finite number;
//   - rank ≥ 1 and density in (0, 1] when given.
// A violated check is a crash (fatalError); a thrown error is fine.

import AdapterFormat
import AdapterMath

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let recipe: MergeRecipe
    do {
        let json = try JSONValue(parsing: UnsafeBufferPointer(start: data, count: size))
        recipe = try MergeRecipe(json: json, path: "recipes/merge.json")
    } catch {
        FuzzLog.error(error)
        return 0
    }
    func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { fatalError("recipe accepted with \(what()): \(recipe)") }
    }
    // Compared as bytes: String.hasPrefix compares Characters, and "recipes/" followed
    // by a combining mark does not start with the Character "/" (see finding 8 in
    // docs/ROBUSTNESS.md).
    func placed(_ p: String) -> Bool {
        p.utf8.first == UInt8(ascii: "/") || (p.utf8.starts(with: "recipes/".utf8) && p.utf8.count > "recipes/".utf8.count)
    }
    check(!recipe.inputs.isEmpty, "no inputs")
    check(recipe.weights.count == recipe.inputs.count, "\(recipe.weights.count) weights for \(recipe.inputs.count) inputs")
    check(recipe.weights.allSatisfy(\.isFinite), "weights \(recipe.weights)")
    for p in recipe.inputs { check(placed(p), "input path \"\(p)\"") }
    if let o = recipe.output { check(placed(o), "output \"\(o)\"") }
    for (i, bands) in recipe.layerBands {
        check(recipe.inputs.indices.contains(i), "layer bands for input \(i)")
        check(bands.bands.allSatisfy(\.factor.isFinite), "band factors \(bands)")
        for layer in [nil] + (0...40).map(Optional.some) {
            check(bands.factor(layer: layer).isFinite, "factor(layer: \(layer.map(String.init) ?? "nil")) of \(bands)")
        }
        _ = bands.description
    }
    if let r = recipe.rank { check(r >= 1, "rank \(r)") }
    if let d = recipe.density { check(d > 0 && d <= 1, "density \(d)") }
    _ = recipe.method.rawValue
    _ = recipe.dtype
    return 0
}
