import XCTest
import AdapterFormat
import ExampleWorld
import TestSupport

/// The .mo reader against Python's gettext (an independent reader), and
/// `example catalogs`' filters and splits on catalogs made by polib
/// (Tests/Fixtures/mo, make_mo_fixtures.py).
final class TranslationCatalogsTests: XCTestCase {
    func testMOFilesReadAsPythonsGettextReadsThem() throws {
        let expected = try Fixtures.json("mo/expected.json")
        for (file, info) in try XCTUnwrap(expected.objectValue) {
            let mo = try MOFile(path: Fixtures.path("mo/" + file))
            XCTAssertEqual(mo.charset, "UTF-8", file)
            var pairs: [[String]] = []
            var plural: [String: [String]] = [:]
            for m in mo.messages {
                if m.hasPlural {
                    let singular = String(m.original.split(separator: "\0", omittingEmptySubsequences: false)[0])
                    plural[singular] = m.translation.split(separator: "\0", omittingEmptySubsequences: false).map(
                        String.init)
                } else {
                    pairs.append([m.original, m.translation])
                }
            }
            let theirs = try XCTUnwrap(info["pairs"]?.arrayValue).map { $0.arrayValue?.compactMap(\.stringValue) ?? [] }
            XCTAssertEqual(pairs.sorted { $0[0] < $1[0] }, theirs.filter { $0.first != "" }, file)
            let theirPlural = (info["plural"]?.objectValue ?? []).map {
                ($0.key, $0.value.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            XCTAssertEqual(plural, Dictionary(uniqueKeysWithValues: theirPlural), file)
        }
    }

    func testHostileMOFilesAreRefusedWithAPlace() throws {
        let good = try Fixtures.bytes(Fixtures.path("mo/locale/de/LC_MESSAGES/demo.mo"))
        for cut in stride(from: 0, to: good.count, by: 7) {
            XCTAssertThrowsError(try MOFile(bytes: Array(good.prefix(cut)), path: "cut.mo"), "prefix \(cut)")
        }
        var huge = good
        huge[8] = 0xFF
        huge[9] = 0xFF
        huge[10] = 0xFF
        XCTAssertThrowsError(try MOFile(bytes: huge, path: "huge.mo")) { XCTAssertTrue("\($0)".contains("cannot fit")) }
        XCTAssertThrowsError(
            try MOFile(bytes: Array("not a catalog at all, no".utf8) + [UInt8](repeating: 0, count: 8), path: "x.mo"))
    }

    func testCatalogsKeepPlainMessagesTranslatedEverywhere() throws {
        let catalogs = try TranslationCatalogs(languages: ["de", "fr"], localeDirectory: Fixtures.path("mo/locale"))
        XCTAssertEqual(
            Set(catalogs.entries.map(\.english)),
            [
                "A filename is required", "The operation was cancelled by the user",
                "Could not open the configuration file", "The network is unreachable right now",
            ])
        XCTAssertEqual(catalogs.entries.first { $0.english == "A filename is required" }?.domain, "demo")
        XCTAssertEqual(
            catalogs.summary.dropped,
            [
                "context": 1, "plural": 1, "format directive": 3, "markup": 1, "accelerator": 1, "multi-line": 1,
                "too short": 1, "left in English": 1, "not translated into every language": 1, "duplicate": 1,
            ])
        let files = catalogs.files(packages: [])
        let rows = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.rows) })
        let all = ["train", "dev", "test"].flatMap { rows["parallel_\($0).jsonl"] ?? [] }
        XCTAssertEqual(all.count, 8)
        // A message lands in one split for every language, and the task mirrors the pairs.
        for s in ["train", "dev", "test"] {
            let parallel = rows["parallel_\(s).jsonl"] ?? []
            let task = rows["task_\(s).jsonl"] ?? []
            XCTAssertEqual(parallel.count, task.count)
            XCTAssertEqual(parallel.count % 2, 0)
            for (p, t) in zip(parallel, task) {
                XCTAssertEqual(t["text"]?.stringValue, " " + (p["text_parallel_1"]?.stringValue ?? ""))
                XCTAssertEqual(
                    t["prefix"]?.stringValue, TranslationCatalogs.prompt(p["text_parallel_0"]?.stringValue ?? ""))
            }
        }
        XCTAssertThrowsError(
            try TranslationCatalogs(languages: ["de", "xx"], localeDirectory: Fixtures.path("mo/locale")))
    }
}
