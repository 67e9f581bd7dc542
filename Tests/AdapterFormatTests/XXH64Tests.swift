import XCTest
import AdapterFormat
import TestSupport

/// Reference values from the Python `xxhash` package.
final class XXH64Tests: XCTestCase {
    func testKnownVectors() {
        let cases: [([UInt8], UInt64, UInt64)] = [
            ([], 0xEF46_DB37_51D8_E999, 0xAC75_FDA2_929B_17EF),
            (Array("a".utf8), 0xD24E_C4F1_A98C_6E5B, 0x393D_A8B7_8992_279B),
            (Array("abc".utf8), 0x44BC_2CF5_AD77_0999, 0x1318_DF30_094A_85FD),
            (Array("0123456789abcdef0123456789abcdef".utf8), 0x642A_9495_8E71_E6C5, 0xDFAD_85CC_F828_5222),
            (Array((0..<768).map { UInt8($0 % 256) }), 0x8E03_C838_C596_036F, 0x8E06_C6A0_27F6_B435),
            (Array("Nobody inspects the spammish repetition".utf8), 0xFBCE_A83C_8A37_8BF1, 0x56DB_22DD_5B05_1147),
        ]
        for (input, seed0, seedGolden) in cases {
            XCTAssertEqual(XXH64.hash(input), seed0, "length \(input.count)")
            XCTAssertEqual(XXH64.hash(input, seed: 0x9E37_79B1), seedGolden, "length \(input.count), seeded")
        }
    }

    func testStreamingEqualsOneShotForEverySplit() {
        var rng = TestRandom(seed: 3)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let expected = XXH64.hash(data)
        for split in stride(from: 0, through: 300, by: 7) {
            var h = XXH64()
            h.update(Array(data[..<split]))
            var rest = Array(data[split...])
            while !rest.isEmpty {
                let n = min(rest.count, 1 + split % 13)
                h.update(Array(rest.prefix(n)))
                rest.removeFirst(n)
            }
            XCTAssertEqual(h.finalize(), expected, "split at \(split)")
        }
        XCTAssertEqual(XXH64.hex(0xAB), "00000000000000ab")
    }
}
