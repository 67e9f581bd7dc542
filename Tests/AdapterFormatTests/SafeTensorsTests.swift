import XCTest
import AdapterFormat
import Tensors
import TestSupport

/// Reading files written by the Python safetensors library, writing them
/// back byte for byte, and refusing every malformed variant.
final class SafeTensorsTests: XCTestCase {
    func testReadsReferenceFilesExactly() throws {
        let expected = try Fixtures.json("safetensors/expected.json")
        for name in ["mixed.safetensors", "no_metadata.safetensors"] {
            let spec = try XCTUnwrap(expected[name])
            let file = try SafeTensorsFile(path: Fixtures.path("safetensors/\(name)"))
            XCTAssertEqual(file.headerLength, spec["header_len"]?.intValue)
            if let meta = spec["metadata"]?.objectValue {
                XCTAssertEqual(
                    file.metadata, Dictionary(uniqueKeysWithValues: meta.map { ($0.key, $0.value.stringValue ?? "") }))
            } else {
                XCTAssertNil(file.metadata)
            }
            let tensors = try XCTUnwrap(spec["tensors"]?.objectValue)
            XCTAssertEqual(file.entries.count, tensors.count)
            for (tensorName, t) in tensors {
                let entry = try XCTUnwrap(file.entry(tensorName), tensorName)
                XCTAssertEqual(entry.dtype.rawValue, t["dtype"]?.stringValue)
                XCTAssertEqual(entry.shape, t["shape"]?.arrayValue?.compactMap(\.intValue))
                let offsets = t["data_offsets"]?.arrayValue?.compactMap(\.intValue)
                XCTAssertEqual([entry.dataRange.lowerBound, entry.dataRange.upperBound], offsets)
                let tensor = try file.tensor(tensorName)
                XCTAssertEqual(try elements(tensor), try expectedElements(t), tensorName)
            }
        }
    }

    /// Every element as a decimal string of its bits (floats) or value (integers).
    func elements(_ t: Tensor) throws -> [String] {
        t.bytes.withUnsafeBytes { raw -> [String] in
            switch t.dtype {
            case .f64: return raw.bindMemory(to: UInt64.self).map { String($0) }
            case .f32: return raw.bindMemory(to: UInt32.self).map { String($0) }
            case .f16, .bf16: return raw.bindMemory(to: UInt16.self).map { String($0) }
            case .i64: return raw.bindMemory(to: Int64.self).map { String($0) }
            case .i32: return raw.bindMemory(to: Int32.self).map { String($0) }
            case .i16: return raw.bindMemory(to: Int16.self).map { String($0) }
            case .i8: return raw.bindMemory(to: Int8.self).map { String($0) }
            default: return raw.map { String($0) }
            }
        }
    }

    func expectedElements(_ t: JSONValue) throws -> [String] {
        let list = try XCTUnwrap(t["bits"]?.arrayValue ?? t["values"]?.arrayValue)
        return list.map { v in
            if case .string(let s) = v { return s }
            if case .bool(let b) = v { return b ? "1" : "0" }
            return v.intValue.map(String.init) ?? v.compactText
        }
    }

    func testRewritesReferenceFilesByteForByte() throws {
        for name in ["mixed.safetensors", "no_metadata.safetensors"] {
            let path = Fixtures.path("safetensors/\(name)")
            let file = try SafeTensorsFile(path: path)
            let tensors = try file.entries.map { ($0.name, try file.tensor($0)) }
            let bytes = SafeTensorsWriter.serialize(tensors.map { (name: $0.0, tensor: $0.1) }, metadata: file.metadata)
            XCTAssertEqual(bytes, try Fixtures.bytes(path), name)
            let dir = try Fixtures.scratchDirectory()
            try SafeTensorsWriter.write(
                tensors.map { (name: $0.0, tensor: $0.1) }, metadata: file.metadata,
                to: dir + "/out.safetensors", overwrite: false)
            XCTAssertEqual(try Fixtures.bytes(dir + "/out.safetensors"), try Fixtures.bytes(path))
        }
    }

    /// A small valid file to corrupt.
    func sample() throws -> [UInt8] {
        let a = try Tensor(floats: [1, 2, 3, 4], shape: [2, 2])
        let b = try Tensor(floats: [5, 6], shape: [2], dtype: .bf16)
        return SafeTensorsWriter.serialize([("a", a), ("b", b)], metadata: ["format": "pt"])
    }

    func open(_ bytes: [UInt8]) throws -> SafeTensorsFile {
        let dir = try Fixtures.scratchDirectory()
        try Fixtures.write(bytes, to: dir + "/x.safetensors")
        return try SafeTensorsFile(path: dir + "/x.safetensors")
    }

    func assertRejected(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try open(bytes), file: file, line: line) { error in
            XCTAssertTrue(
                "\(error)".contains(fragment), "\"\(error)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
    }

    func withHeader(_ header: String, data: Int) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + [UInt8](repeating: 0, count: data)
    }

    func testRejectsEveryTruncation() throws {
        let good = try sample()
        XCTAssertNoThrow(try open(good))
        for cut in 0..<good.count {
            XCTAssertThrowsError(try open(Array(good[..<cut])), "truncated at \(cut)")
        }
    }

    func testRejectsStructuralLies() {
        let t = #""dtype":"F32","shape":[2]"#
        assertRejected(withHeader(#"{"a":{\#(t),"data_offsets":[0,8]}}"#, data: 9), "trailing")
        assertRejected(withHeader(#"{"a":{\#(t),"data_offsets":[0,12]}}"#, data: 12), "needs 8")
        assertRejected(
            withHeader(#"{"a":{\#(t),"data_offsets":[0,8]},"b":{\#(t),"data_offsets":[4,12]}}"#, data: 12), "overlap")
        assertRejected(
            withHeader(#"{"a":{\#(t),"data_offsets":[0,8]},"b":{\#(t),"data_offsets":[12,20]}}"#, data: 20), "hole")
        assertRejected(withHeader(#"{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}"#, data: 8), "unknown dtype")
        assertRejected(
            withHeader(#"{"a":{\#(t),"data_offsets":[0,8]},"a":{\#(t),"data_offsets":[8,16]}}"#, data: 16), "duplicate")
        assertRejected(withHeader(#"{"a":{\#(t),"data_offsets":[0,8]"#, data: 8), "JSON")
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: 8), "negative")
        assertRejected(
            withHeader(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: 8),
            "too many")
        assertRejected(withHeader(#"{"__metadata__":{"k":1}}"#, data: 0), "not a string")
        // Found by the fuzzer: an overflowing shape must still name the file and tensor.
        XCTAssertThrowsError(
            try open(
                withHeader(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#, data: 0))
        ) { error in
            XCTAssertEqual((error as? FormatError)?.location, "t", "\(error)")
        }
        assertRejected(withHeader(#"[1]"#, data: 0), "not a JSON object")
        // A header length past the file end, and one over the 100 MB cap.
        var huge = withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { Array($0) }
        huge += Array("{}      ".utf8)
        assertRejected(huge, "100 MB")
        var past = withUnsafeBytes(of: UInt64(64).littleEndian) { Array($0) }
        past += Array("{}      ".utf8)
        assertRejected(past, "past the end")
        var notUTF8 = withHeader("{}", data: 0)
        notUTF8[8] = 0xFF
        assertRejected(notUTF8, "JSON")
    }
}
