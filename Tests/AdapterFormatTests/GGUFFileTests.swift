import AdapterFormat
import Foundation
import TestSupport
import XCTest

/// Reading GGUF files written by llama.cpp's gguf package (Tests/Fixtures/gguf, made by
/// scripts/fixtures/make_gguf_fixtures.py): metadata and tensor infos as gguf's GGUFReader reads
/// them, every supported type dequantized bit for bit as gguf.quants.dequantize, and every
/// malformed variant refused with a FormatError that says what and where.
final class GGUFFileTests: XCTestCase {
    func fixture(_ name: String) -> String { Fixtures.path("gguf/\(name)") }

    /// A file's entry in expected.json.
    func spec(_ name: String) throws -> JSONValue {
        try XCTUnwrap(try Fixtures.json("gguf/expected.json")["files"]?[name], name)
    }

    func open(_ bytes: [UInt8]) throws -> GGUFFile {
        try GGUFFile(file: MappedFile(bytes: bytes, path: "x.gguf"))
    }

    // MARK: Reading the reference files

    func testReadsMetadataAsGGUFReaderDoes() throws {
        for name in ["types.gguf", "aligned64.gguf"] {
            let spec = try spec(name)
            let file = try GGUFFile(path: fixture(name))
            XCTAssertEqual(file.version, UInt32(try XCTUnwrap(spec["version"]?.intValue)))
            XCTAssertEqual(file.alignment, spec["alignment"]?.intValue)
            XCTAssertEqual(file.dataOffset, spec["data_offset"]?.intValue)
            let entries = try XCTUnwrap(spec["metadata"]?.arrayValue)
            XCTAssertEqual(file.metadataKeys, entries.compactMap { $0["key"]?.stringValue }, name)
            XCTAssertEqual(file.metadata.count, entries.count)
            for entry in entries {
                let key = try XCTUnwrap(entry["key"]?.stringValue)
                let value = try XCTUnwrap(file.metadata[key], key)
                XCTAssertEqual(canonical(value), try canonical(entry), "\(name): \(key)")
            }
        }
    }

    func testReadsTensorInfosAsGGUFReaderDoes() throws {
        for name in ["types.gguf", "aligned64.gguf"] {
            let spec = try spec(name)
            let file = try GGUFFile(path: fixture(name))
            let tensors = try XCTUnwrap(spec["tensors"]?.arrayValue)
            XCTAssertEqual(file.tensors.map(\.name), tensors.compactMap { $0["name"]?.stringValue })
            let bytes = try Fixtures.bytes(fixture(name))
            for t in tensors {
                let info = try XCTUnwrap(file.tensor(try XCTUnwrap(t["name"]?.stringValue)))
                XCTAssertEqual(Int(info.type.rawValue), t["type"]?.intValue, info.name)
                XCTAssertEqual(info.type.name, t["type_name"]?.stringValue, info.name)
                XCTAssertEqual(info.dimensions, t["ne"]?.arrayValue?.compactMap(\.intValue), info.name)
                XCTAssertEqual(info.elementCount, t["n_elements"]?.intValue, info.name)
                XCTAssertEqual(info.offset, t["offset"]?.intValue, info.name)
                XCTAssertEqual(info.byteCount, t["n_bytes"]?.intValue, info.name)
                XCTAssertEqual(info.rows * info.rowBytes, info.byteCount, info.name)
                XCTAssertEqual(info.columns, info.dimensions.first ?? 1, info.name)
                XCTAssertEqual(Array(file.bytes(of: info)), Array(bytes[info.offset..<(info.offset + info.byteCount)]))
            }
        }
        XCTAssertNil(try GGUFFile(path: fixture("types.gguf")).tensor("absent"))
    }

    func testDequantizesEveryTypeBitForBitAsGGUFQuants() throws {
        let file = try GGUFFile(path: fixture("types.gguf"))
        let oracle = try Fixtures.bytes(fixture("types.f32"))
        var seen = Set<String>()
        for t in try XCTUnwrap(try spec("types.gguf")["tensors"]?.arrayValue) {
            guard let range = t["dequantized"] else { continue }
            let info = try XCTUnwrap(file.tensor(try XCTUnwrap(t["name"]?.stringValue)))
            let start = try XCTUnwrap(range["start"]?.intValue)
            let count = try XCTUnwrap(range["count"]?.intValue)
            let expected = oracle[(4 * start)..<(4 * (start + count))].withUnsafeBytes { raw in
                (0..<count).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
            }
            let whole = try file.floats(of: info)
            XCTAssertEqual(whole.map(\.bitPattern), expected, info.name)
            // Row by row (each row starting at its own block) gives the same values.
            var byRows = [Float](repeating: .nan, count: info.elementCount)
            try byRows.withUnsafeMutableBufferPointer { out in
                for r in 0..<info.rows {
                    try file.dequantize(info, rows: r..<(r + 1), into: out.baseAddress! + r * info.columns)
                }
            }
            XCTAssertEqual(byRows.map(\.bitPattern), expected, "\(info.name) by rows")
            seen.insert(info.type.name)
        }
        XCTAssertEqual(seen, Set(GGMLType.supported.map(\.name)))
    }

    func testDequantizesARangeOfRows() throws {
        let file = try GGUFFile(path: fixture("types.gguf"))
        let info = try XCTUnwrap(file.tensor("blk.0.q8_0_3d"))
        XCTAssertEqual([info.columns, info.rows], [64, 6])
        let all = try file.floats(of: info)
        var part = [Float](repeating: 0, count: 3 * 64)
        try part.withUnsafeMutableBufferPointer { try file.dequantize(info, rows: 2..<5, into: $0.baseAddress!) }
        XCTAssertEqual(part.map(\.bitPattern), all[128..<320].map(\.bitPattern))
        // Straight from the bytes, through the type.
        var direct = [Float](repeating: 0, count: info.elementCount)
        direct.withUnsafeMutableBufferPointer { out in
            info.type.dequantize(file.bytes(of: info).baseAddress!, count: info.elementCount, into: out.baseAddress!)
        }
        XCTAssertEqual(direct.map(\.bitPattern), all.map(\.bitPattern))
    }

    func testATensorOfAnUnsupportedTypeIsRefusedOnlyWhenAskedFor() throws {
        let file = try GGUFFile(path: fixture("types.gguf"))
        let info = try XCTUnwrap(file.tensor("iq2_xxs"))
        XCTAssertEqual(info.type, .iq2_XXS)
        XCTAssertFalse(info.type.isSupported)
        XCTAssertEqual(file.bytes(of: info).count, 66)
        let message =
            "tensor type IQ2_XXS is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)"
        XCTAssertThrowsError(try file.floats(of: info)) { error in
            let e = error as? FormatError
            XCTAssertEqual(e?.code, .unsupported)
            XCTAssertEqual(e?.message, message)
            XCTAssertEqual(e?.location, "iq2_xxs")
            XCTAssertEqual(e?.path, self.fixture("types.gguf"))
        }
        var out = [Float](repeating: 0, count: 256)
        XCTAssertThrowsError(
            try out.withUnsafeMutableBufferPointer { try file.dequantize(info, rows: 0..<1, into: $0.baseAddress!) })
        XCTAssertThrowsError(try GGMLType.q2_K.requireSupported()) { error in
            XCTAssertEqual((error as? FormatError)?.message.hasPrefix("tensor type Q2_K is not supported (F32"), true)
        }
        XCTAssertNoThrow(try GGMLType.q6_K.requireSupported())
    }

    func testTypeNumbersNamesAndSizesAreGGMLs() {
        let table: [(GGMLType, UInt32, String, Int, Int)] = [
            (.f32, 0, "F32", 1, 4), (.f16, 1, "F16", 1, 2), (.q4_0, 2, "Q4_0", 32, 18), (.q4_1, 3, "Q4_1", 32, 20),
            (.q5_0, 6, "Q5_0", 32, 22), (.q5_1, 7, "Q5_1", 32, 24), (.q8_0, 8, "Q8_0", 32, 34),
            (.q2_K, 10, "Q2_K", 256, 84), (.q3_K, 11, "Q3_K", 256, 110), (.q4_K, 12, "Q4_K", 256, 144),
            (.q5_K, 13, "Q5_K", 256, 176), (.q6_K, 14, "Q6_K", 256, 210), (.iq2_XXS, 16, "IQ2_XXS", 256, 66),
            (.bf16, 30, "BF16", 1, 2), (.mxfp4, 39, "MXFP4", 32, 17), (.q1_0, 41, "Q1_0", 128, 18),
        ]
        for (type, number, name, block, size) in table {
            XCTAssertEqual(type.rawValue, number, name)
            XCTAssertEqual(type.name, name)
            XCTAssertEqual(type.blockSize, block, name)
            XCTAssertEqual(type.typeSize, size, name)
            XCTAssertTrue(type.isKnown, name)
        }
        XCTAssertEqual(GGMLType.q4_K.rowBytes(columns: 512), 288)
        XCTAssertEqual(GGMLType.f16.rowBytes(columns: 3), 6)
        for retired: UInt32 in [4, 5, 31, 36, 42, 1000] {
            let t = GGMLType(rawValue: retired)
            XCTAssertFalse(t.isKnown)
            XCTAssertFalse(t.isSupported)
            XCTAssertEqual(t.name, "type \(retired)")
            XCTAssertEqual(t.blockSize, 0)
        }
    }

    func testTypedMetadataGetters() throws {
        let file = try GGUFFile(path: fixture("types.gguf"))
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.string("test.string_empty"), "")
        XCTAssertEqual(try file.integer("test.u8"), 255)
        XCTAssertEqual(try file.integer("test.i64"), Int(Int64.min))
        XCTAssertEqual(try file.integer("test.u32"), 4_294_967_295)
        XCTAssertEqual(try file.integer("test.small_u64"), 4096)
        XCTAssertEqual(try file.float("test.f32"), Double(Float(0.1)))
        XCTAssertEqual(try file.float("test.f64"), 3.141592653589793)
        XCTAssertEqual(try file.float("llama.context_length"), 2048)
        XCTAssertEqual(try file.bool("test.bool_true"), true)
        XCTAssertEqual(try file.bool("test.bool_false"), false)
        XCTAssertEqual(
            try file.strings("tokenizer.ggml.tokens"), ["<s>", "</s>", "\u{120}the", "\u{120}\u{c3}\u{a9}", "a"])
        XCTAssertEqual(try file.integers("tokenizer.ggml.token_type"), [3, 3, 1, 1, 1])
        XCTAssertEqual(try file.integers("test.array_u8"), [0, 1, 255])
        XCTAssertEqual(try file.floats("tokenizer.ggml.scores"), [0, -1, -2.5, -3.75, -4])
        XCTAssertEqual(try file.floats("test.array_f64"), [0.1, -1e-300, 5e-324].map { Float($0) })
        XCTAssertEqual(try file.floats("test.array_i32"), [-2_147_483_648, 0, 2_147_483_647])
        XCTAssertNil(try file.string("absent"))
        XCTAssertNil(try file.integer("absent"))
        XCTAssertNil(try file.float("absent"))
        XCTAssertNil(try file.bool("absent"))
        XCTAssertNil(try file.strings("absent"))
        XCTAssertNil(try file.integers("absent"))
        XCTAssertNil(try file.floats("absent"))

        func refuses(_ body: @autoclosure () throws -> Any?, _ location: String, _ fragment: String, line: UInt = #line)
        {
            XCTAssertThrowsError(try body(), line: line) { error in
                let e = error as? FormatError
                XCTAssertEqual(e?.location, location, line: line)
                XCTAssertEqual(e?.path, self.fixture("types.gguf"), line: line)
                XCTAssertTrue(e?.message.contains(fragment) ?? false, "\(error)", line: line)
            }
        }
        refuses(try file.string("test.u32"), "test.u32", "must be a string, not u32")
        refuses(try file.integer("test.f32"), "test.f32", "must be an integer, not f32")
        refuses(try file.integer("test.bool_true"), "test.bool_true", "not bool")
        refuses(try file.integer("test.u64"), "test.u64", "does not fit")
        refuses(try file.float("test.string"), "test.string", "must be a number, not str")
        refuses(try file.bool("test.u8"), "test.u8", "must be true or false, not u8")
        refuses(try file.strings("test.array_i32"), "test.array_i32", "array of strings, not an array of i32")
        refuses(try file.strings("test.string"), "test.string", "array of strings, not str")
        refuses(try file.integers("test.array_u64"), "test.array_u64[1]", "does not fit")
        refuses(try file.integers("test.array_string"), "test.array_string", "not an array of str")
        refuses(try file.floats("test.nested_i32"), "test.nested_i32", "not an array of arr")
        refuses(try file.string("tokenizer.ggml.tokens"), "tokenizer.ggml.tokens", "not array of str")
    }

    // MARK: Versions, byte order, magic

    func testVersion2ReadsAsVersion3() throws {
        var bytes = try Fixtures.bytes(fixture("types.gguf"))
        bytes[4] = 2
        let v2 = try open(bytes)
        let v3 = try GGUFFile(path: fixture("types.gguf"))
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(v2.metadataKeys, v3.metadataKeys)
        XCTAssertEqual(v2.tensors, v3.tensors)
    }

    func testRefusesOtherVersionsByteOrderAndMagic() throws {
        let good = try Fixtures.bytes(fixture("types.gguf"))
        XCTAssertThrowsError(try GGUFFile(path: fixture("bigendian.gguf"))) { error in
            XCTAssertEqual((error as? FormatError)?.code, .unsupported)
            XCTAssertTrue("\(error)".contains("big-endian"), "\(error)")
            XCTAssertTrue("\(error)".contains("bigendian.gguf: the version (byte 4)"), "\(error)")
        }
        for (version, fragment) in [(1, "version 1 is not supported"), (0, "version 0"), (4, "version 4")] {
            var bytes = good
            bytes[4] = UInt8(version)
            assertRejected(bytes, fragment, code: .unsupported)
        }
        var magic = good
        magic[0] = UInt8(ascii: "X")
        assertRejected(magic, "not a GGUF file (it starts with 58 47 55 46", code: .notRecognized)
        assertRejected(Array("PK\u{3}\u{4}".utf8), "not a GGUF file", code: .notRecognized)
        assertRejected([], "file is 0 bytes, too short for a GGUF header")
        assertRejected(Array("GGU".utf8), "file is 3 bytes, too short")
    }

    // MARK: Hostile inputs

    /// Every prefix is refused, up to the end of the last tensor's bytes: the zero padding after
    /// it is not needed (neither llama.cpp nor gguf-py reads it).
    func testRefusesEveryTruncation() throws {
        let good = try Fixtures.bytes(fixture("types.gguf"))
        let file = try open(good)
        let end = file.tensors.map { $0.offset + $0.byteCount }.max()!
        XCTAssertLessThan(end, good.count)
        for cut in 0..<good.count {
            if cut < end {
                XCTAssertThrowsError(try open(Array(good[..<cut])), "cut at \(cut)") { error in
                    XCTAssertTrue(error is FormatError, "cut at \(cut): \(error)")
                    if cut >= 4 { XCTAssertNotNil((error as? FormatError)?.location, "cut at \(cut): \(error)") }
                }
            } else {
                XCTAssertEqual(try open(Array(good[..<cut])).tensors, file.tensors, "cut at \(cut)")
            }
        }
    }

    func testRefusesHugeCounts() throws {
        let good = try Fixtures.bytes(fixture("types.gguf"))
        var tensors = good
        put(&tensors, at: 8, UInt64(1) << 62)
        assertRejected(tensors, "tensor infos and 40 metadata entries cannot fit")
        var keys = good
        put(&keys, at: 16, UInt64.max)
        assertRejected(keys, "18446744073709551615 metadata entries cannot fit", location: "the header (byte 16)")
        // The first key's length (general.architecture), then an array's count.
        var key = good
        put(&key, at: 24, UInt64(1) << 40)
        assertRejected(key, "string length 1099511627776 runs past the end", location: "metadata entry 0 (byte 24)")
        var array = good
        let count = try valueOffset(of: "test.array_u16", in: good) + 4
        put(&array, at: count, UInt64.max / 2)
        assertRejected(
            array, "array of 9223372036854775807 u16 values cannot fit", location: "test.array_u16 (byte \(count - 4))")
        // Enough bytes for 2^24 + 1 one-byte values, but more values than the reader keeps.
        var many = GGUFBytes(tensors: 0, keys: 1)
        many.key("big")
        many.u32(9)
        many.u32(0)
        many.u64(UInt64(GGUFFile.maximumMetadataValues + 1))
        many.bytes += [UInt8](repeating: 7, count: GGUFFile.maximumMetadataValues + 1)
        assertRejected(many.bytes, "more than 16777216 values", code: .unsupported)
    }

    func testRefusesBadAlignment() throws {
        let good = try Fixtures.bytes(fixture("aligned64.gguf"))
        XCTAssertEqual(try open(good).alignment, 64)
        let at = try valueOffset(of: "general.alignment", in: good)
        for bad: UInt32 in [48, 0, 3, 0x8000_0001] {
            var bytes = good
            put(&bytes, at: at, bad)
            assertRejected(bytes, "\(bad) is not a power of two", location: "general.alignment")
        }
        var typed = good
        put(&typed, at: at - 4, UInt32(5))  // i32
        assertRejected(typed, "must be a u32, not i32", location: "general.alignment")
        // 2^31 is a power of two, but pads the data section past the end of the file.
        var far = good
        put(&far, at: at, UInt32(1) << 31)
        assertRejected(far, "the file ends before the data section")
        // A smaller power of two is accepted: the data section then starts elsewhere, and nothing
        // in the file can tell (the offsets, multiples of 64, are multiples of 16 too).
        var sixteen = good
        put(&sixteen, at: at, UInt32(16))
        XCTAssertEqual(try open(sixteen).alignment, 16)
    }

    func testRefusesTensorOffsetsOutOfRangeMisalignedOrOverlapping() throws {
        let good = try Fixtures.bytes(fixture("types.gguf"))
        let file = try open(good)
        let last = try XCTUnwrap(file.tensors.last)
        let info = try infoOffset(of: last.name, in: good)
        let offsetField = info + 4 + 8 * last.dimensions.count + 4
        let place = "\(last.name) (byte \(info - 8 - last.name.utf8.count))"
        var far = good
        put(&far, at: offsetField, UInt64.max - 31)
        assertRejected(far, "run past the end of the file", location: place)
        var misaligned = good
        put(&misaligned, at: offsetField, UInt64(last.offset - file.dataOffset + 4))
        assertRejected(misaligned, "not a multiple of the alignment 32", location: place)
        var overlapping = good
        put(&overlapping, at: offsetField, UInt64(0))
        assertRejected(overlapping, "data overlaps that of tensor")
        var tooLong = good
        let q = try XCTUnwrap(file.tensor("q4_K"))
        let ne = try infoOffset(of: "q4_K", in: good) + 4
        put(&tooLong, at: ne + 8, UInt64(1_000_000))  // ne[1]: a million rows
        assertRejected(tooLong, "144000000 bytes at data offset \(q.offset - file.dataOffset) run past the end")
    }

    func testRefusesBadTensorInfos() throws {
        let good = try Fixtures.bytes(fixture("types.gguf"))
        let at = try infoOffset(of: "q4_K", in: good)
        func patched(_ body: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = good
            body(&b)
            return b
        }
        assertRejected(
            patched { put(&$0, at: at, UInt32(5)) }, "5 dimensions, more than ggml's 4", location: "q4_K (byte \(at))")
        assertRejected(
            patched { put(&$0, at: at + 4, UInt64(128)) }, "ne[0] = 128 is not a multiple of Q4_K's block size 256")
        assertRejected(patched { put(&$0, at: at + 4, UInt64.max) }, "dimension 18446744073709551615 is too large")
        assertRejected(
            patched {
                put(&$0, at: at + 4, UInt64(1) << 40)
                put(&$0, at: at + 12, UInt64(1) << 40)
            }, "has too many elements")
        assertRejected(patched { put(&$0, at: at + 20, UInt32(99)) }, "ggml type 99 is not one ggml defines")
        assertRejected(patched { put(&$0, at: at + 20, UInt32(4)) }, "ggml type 4 is not one ggml defines")
        // Renaming q4_K to q4_0 (also a tensor of the file).
        assertRejected(
            patched { $0[at - 1] = UInt8(ascii: "0") }, "duplicate tensor name", location: "q4_0 (byte \(at - 12))")
    }

    func testRefusesBadMetadata() throws {
        let good = try Fixtures.bytes(fixture("types.gguf"))
        func patched(_ body: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = good
            body(&b)
            return b
        }
        let bool = try valueOffset(of: "test.bool_true", in: good)
        assertRejected(
            patched { $0[bool] = 2 }, "bool byte is 2, not 0 or 1", location: "test.bool_true (byte \(bool))")
        let type = try valueOffset(of: "test.u8", in: good) - 4
        assertRejected(patched { put(&$0, at: type, UInt32(13)) }, "unknown value type 13")
        let element = try valueOffset(of: "test.array_u8", in: good)
        assertRejected(patched { put(&$0, at: element, UInt32(13)) }, "array has unknown element type 13")
        // The string value's first byte (h) made a lone continuation byte.
        let string = try valueOffset(of: "test.string", in: good) + 8
        assertRejected(patched { $0[string] = 0x80 }, "is not valid UTF-8", location: "test.string (byte \(string))")
        // An overlong encoding in a nested string: "x" (0x78) cannot become C1 B8 in place, so
        // a key's byte becomes 0xFF.
        let key = try XCTUnwrap(find(Array("test.nested_string".utf8), in: good))
        assertRejected(
            patched { $0[key + 5] = 0xFF }, "is not valid UTF-8", location: "metadata entry 30 (byte \(key))")
        // test.i8 renamed test.u8.
        let i8 = try XCTUnwrap(find(Array("test.i8".utf8), in: good))
        assertRejected(
            patched { $0[i8 + 5] = UInt8(ascii: "u") }, "duplicate metadata key", location: "test.u8 (byte \(i8 - 8))")
        // An element of an array of strings with a length past the end.
        let tokens = try valueOffset(of: "tokenizer.ggml.tokens", in: good) + 12
        assertRejected(
            patched { put(&$0, at: tokens + 8 + 3, UInt64(1) << 32) }, "string length 4294967296 runs past the end",
            location: "tokenizer.ggml.tokens[1] (byte \(tokens + 11))")
    }

    func testNestedArraysAreReadUpToTheDepthLimit() throws {
        func nested(_ depth: Int) -> [UInt8] {
            var b = GGUFBytes(tensors: 0, keys: 1)
            b.key("deep")
            b.u32(9)
            for _ in 1..<depth {
                b.u32(9)
                b.u64(1)
            }
            b.u32(4)
            b.u64(1)
            b.u32(7)
            return b.bytes
        }
        var value = GGUFValue.array([.uint32(7)])
        for _ in 1..<GGUFFile.maximumArrayDepth { value = .array([value]) }
        XCTAssertEqual(try open(nested(GGUFFile.maximumArrayDepth)).metadata["deep"], value)
        assertRejected(nested(GGUFFile.maximumArrayDepth + 1), "arrays nest more than 8 deep", code: .unsupported)
        // Empty arrays, an empty key.
        var empty = GGUFBytes(tensors: 0, keys: 1)
        empty.key("e")
        empty.u32(9)
        empty.u32(8)
        empty.u64(0)
        XCTAssertEqual(try open(empty.bytes).metadata["e"], .array([]))
        var noKey = GGUFBytes(tensors: 0, keys: 1)
        noKey.key("")
        noKey.u32(0)
        noKey.bytes.append(1)
        assertRejected(noKey.bytes, "metadata key is empty", location: "metadata entry 0 (byte 24)")
        // A key with a line break is shown escaped, so the error stays one line.
        var newline = GGUFBytes(tensors: 0, keys: 1)
        newline.key("a\nb")
        newline.u32(13)
        assertRejected(newline.bytes, "unknown value type 13", location: #""a\nb" (byte 35)"#)
    }

    func testAFileWithoutTensorsNeedsNoDataSection() throws {
        var b = GGUFBytes(tensors: 0, keys: 1)
        b.key("general.architecture")
        b.u32(8)
        b.string("llama")
        let file = try open(b.bytes)
        XCTAssertEqual(file.tensors, [])
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertGreaterThan(file.dataOffset, b.bytes.count)
    }

    // MARK: Helpers

    func assertRejected(
        _ bytes: [UInt8], _ fragment: String, code: FormatError.Code = .malformed, location: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try open(bytes), file: file, line: line) { error in
            guard let e = error as? FormatError else {
                return XCTFail("\(type(of: error)): \(error)", file: file, line: line)
            }
            XCTAssertTrue(
                e.message.contains(fragment), "\"\(e)\" does not mention \"\(fragment)\"", file: file, line: line)
            XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
            XCTAssertEqual(e.path, "x.gguf", file: file, line: line)
            if let location { XCTAssertEqual(e.location, location, "\(e)", file: file, line: line) }
        }
    }

    func put<T: FixedWidthInteger>(_ bytes: inout [UInt8], at offset: Int, _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + $0.count), with: $0) }
    }

    func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// The offset of a metadata value (just after its type): the key, stored as length + bytes.
    func valueOffset(of key: String, in bytes: [UInt8]) throws -> Int {
        let encoded = withUnsafeBytes(of: UInt64(key.utf8.count).littleEndian) { Array($0) } + Array(key.utf8)
        return try XCTUnwrap(find(encoded, in: bytes), key) + encoded.count + 4
    }

    /// The offset of a tensor info's n_dims (just after its name).
    func infoOffset(of name: String, in bytes: [UInt8]) throws -> Int {
        let encoded = withUnsafeBytes(of: UInt64(name.utf8.count).littleEndian) { Array($0) } + Array(name.utf8)
        return try XCTUnwrap(find(encoded, in: bytes), name) + encoded.count
    }

    /// A value as a string that shows its type and its exact bits.
    func canonical(_ value: GGUFValue) -> String {
        switch value {
        case .float32(let f): return "f32:" + String(f.bitPattern, radix: 16)
        case .float64(let d): return "f64:" + String(d.bitPattern, radix: 16)
        case .string(let s): return "str:" + s.debugDescription
        case .bool(let b): return "bool:\(b)"
        case .array(let items): return "arr[" + items.map(canonical).joined(separator: ",") + "]"
        default: return "\(value.typeName):\(value.integerValue.map(String.init) ?? "\(value)")"
        }
    }

    /// The same for an entry of expected.json.
    func canonical(_ entry: JSONValue) throws -> String {
        let type = try XCTUnwrap(entry["type"]?.stringValue)
        switch type {
        case "f32", "f64":
            let bits = try XCTUnwrap(entry["bits"]?.stringValue).dropFirst(2)
            return "\(type):" + String(try XCTUnwrap(UInt64(bits, radix: 16)), radix: 16)
        case "string": return "str:" + (try XCTUnwrap(entry["value"]?.stringValue)).debugDescription
        case "bool": return "bool:\(try XCTUnwrap(entry["value"]?.boolValue))"
        case "array":
            let items = try XCTUnwrap(entry["items"]?.arrayValue)
            return "arr[" + (try items.map { try canonical($0) }).joined(separator: ",") + "]"
        case "u64", "i64":
            let text = try XCTUnwrap(entry["value"]?.stringValue)
            // u64 values past Int.max show as the enum does.
            return "\(type):" + (Int(text).map(String.init) ?? "uint64(\(text))")
        default: return "\(type):\(try XCTUnwrap(entry["value"]?.intValue))"
        }
    }
}

/// Hand-built GGUF bytes for cases the fixtures cannot show.
struct GGUFBytes {
    var bytes: [UInt8] = Array("GGUF".utf8)

    init(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
        u32(version)
        u64(tensors)
        u64(keys)
    }

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += s.utf8
    }
    mutating func key(_ k: String) { string(k) }
}
