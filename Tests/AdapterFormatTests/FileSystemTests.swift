import AdapterFormat
import XCTest

final class FileSystemTests: XCTestCase {
    /// Fuzz/findings/recipe-combining-mark-path.input: "/" followed by a combining mark is one
    /// Character, but still a path separator.
    func testSplitWorksOnBytes() {
        XCTAssertTrue(FileSystem.split("dir/\u{301}name") == ("dir", "\u{301}name"))
        XCTAssertTrue(FileSystem.split("/a/b//") == ("/a", "b"))
        XCTAssertTrue(FileSystem.split("/x") == ("/", "x"))
        XCTAssertTrue(FileSystem.split("x") == (".", "x"))
        XCTAssertTrue(FileSystem.split("/") == ("/", ""))
    }
}
