import Foundation
import TestSupport
import XCTest

/// The HTML report opened in a real headless browser (Chromium from Debian's
/// packages): the rendered DOM has every plot, and the screenshot is a page
/// with content, not a blank or broken one. Skipped where no Chromium is
/// installed (`apt-get install -y chromium` to run it).
final class ReportInBrowserTests: XCTestCase {
    static var chromium: String? {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
                let path = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }

    func browser(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try XCTUnwrap(Self.chromium))
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testReportRendersItsPlots() throws {
        guard Self.chromium != nil else { throw XCTSkip("no Chromium installed") }
        let dir = try Fixtures.scratchDirectory()
        let html = dir + "/report.html"
        let png = dir + "/report.png"
        let r = try CLI.run([
            "check", "--model", Fixtures.path("runtime/llama"), "--adapter", Fixtures.path("runtime/llama-adapters/a"),
            "--data", Fixtures.path("runtime/score.jsonl"), "--pairs", Fixtures.path("runtime/pairs.jsonl"),
            "--html", html,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let dom = try browser(["--dump-dom", "file://" + html])
        XCTAssertEqual(
            dom.components(separatedBy: "<svg").count - 1, 5,
            "loss, exact, chrF (the references are free-form), retrieval bars and the retrieval curve")
        XCTAssertTrue(dom.contains("<rect"), "bars are in the rendered DOM")

        _ = try browser(["--window-size=1000,2600", "--screenshot=" + png, "file://" + html])
        let bytes = try Fixtures.bytes(png)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(be32(16), 1000)
        XCTAssertEqual(be32(20), 2600)
        // A blank page of this size compresses to a few KB; text, tables and plots make it far larger.
        XCTAssertGreaterThan(bytes.count, 40_000)
    }
}
