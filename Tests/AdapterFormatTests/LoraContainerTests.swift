import XCTest
import AdapterFormat
import Tensors
import TestSupport

final class LoraContainerTests: XCTestCase {
    /// Writes tensors to a fresh `.lora` file and returns its path.
    func write(
        _ tensors: [(String, Tensor)], metadata: JSONValue = ["note": "test"],
        options: LoraWriteOptions = LoraWriteOptions(), name: String = #function
    ) throws -> String {
        let path = try Fixtures.scratchDirectory(name) + "/t.lora"
        let writer = try LoraContainerWriter(destination: path, overwrite: false, options: options)
        for (n, t) in tensors { try writer.append(name: n, tensor: t) }
        try writer.finish(metadata: metadata)
        return path
    }

    func sampleTensors() throws -> [(String, Tensor)] {
        var rng = TestRandom(seed: 11)
        let a = rng.floats(8 * 64, scale: 0.02)
        let b = rng.floats(96 * 8, scale: 0.5)
        return [
            ("w.lora_A.weight", try Tensor(floats: a, shape: [8, 64])),
            ("w.lora_B.weight", try Tensor(floats: b, shape: [96, 8], dtype: .bf16)),
            ("h", try Tensor(floats: Array(a.prefix(40)), shape: [5, 8], dtype: .f16)),
            ("d", try Tensor(floats: Array(a.prefix(16)), shape: [16]).converted(to: .f64)),
            ("ints", try Tensor(dtype: .i32, shape: [3], bytes: [1, 0, 0, 0, 2, 0, 0, 0, 255, 255, 255, 255])),
            ("zeros", try Tensor(floats: [Float](repeating: 0, count: 4096), shape: [64, 64])),
            ("empty", try Tensor(dtype: .f32, shape: [0, 4], bytes: [])),
            ("scalar", try Tensor(floats: [3.5], shape: [])),
        ]
    }

    func testRoundTripsEveryDTypeAndEncoding() throws {
        let tensors = try sampleTensors()
        for encoding in EncodingChoice.allCases {
            let path = try write(tensors, options: LoraWriteOptions(encoding: encoding), name: "rt\(encoding)")
            let reader = try LoraContainerReader(path: path)
            XCTAssertEqual(reader.metadata["note"], "test")
            XCTAssertEqual(reader.entries.map(\.name), tensors.map(\.0).sorted())
            for (name, tensor) in tensors {
                XCTAssertEqual(try reader.tensor(name), tensor, "\(name) with \(encoding)")
                let entry = try XCTUnwrap(reader.entry(name))
                XCTAssertEqual(entry.storedRange.lowerBound % 64, 0)
                XCTAssertEqual((reader.dataStart + entry.storedRange.lowerBound) % 64, 0)
                if encoding == .raw || tensor.bytes.isEmpty { XCTAssertEqual(entry.encoding, .raw) }
                if encoding == .planes && tensor.dtype.isConvertibleFloat && !tensor.bytes.isEmpty {
                    XCTAssertEqual(entry.encoding, .planes)
                }
            }
            XCTAssertNoThrow(try reader.verifyAll())
        }
    }

    func testAutoStoresRawWhenCompressionSavesLittle() throws {
        var rng = TestRandom(seed: 5)
        let noise = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = try write([
            ("noise", try Tensor(dtype: .u8, shape: [4096], bytes: noise)),
            ("zeros", try Tensor(floats: [Float](repeating: 0, count: 1024), shape: [1024])),
        ])
        let reader = try LoraContainerReader(path: path)
        XCTAssertEqual(reader.entry("noise")?.encoding, .raw)
        XCTAssertEqual(reader.entry("zeros")?.encoding, .planes)
        XCTAssertLessThan(reader.entry("zeros")!.storedRange.count, 100)
    }

    func testSameInputGivesIdenticalBytes() throws {
        let tensors = try sampleTensors()
        let meta: JSONValue = ["b": 1, "a": ["y": 2, "x": [1, 2]]]
        let first = try Fixtures.bytes(try write(tensors, metadata: meta, name: "det1"))
        let second = try Fixtures.bytes(try write(tensors, metadata: meta, name: "det2"))
        // Metadata key order does not matter: it is written canonically.
        let third = try Fixtures.bytes(try write(tensors, metadata: meta.canonicalized, name: "det3"))
        XCTAssertEqual(first, second)
        XCTAssertEqual(first, third)
    }

    func testNeverOverwritesWithoutPermission() throws {
        let path = try write(try sampleTensors())
        let before = try Fixtures.bytes(path)
        XCTAssertThrowsError(try LoraContainerWriter(destination: path, overwrite: false)) { error in
            XCTAssertEqual((error as? FormatError)?.code, .outputExists)
        }
        let writer = try LoraContainerWriter(destination: path, overwrite: true)
        try writer.append(name: "x", tensor: try Tensor(floats: [1], shape: [1]))
        XCTAssertEqual(try Fixtures.bytes(path), before, "nothing changes before finish")
        try writer.finish(metadata: [:])
        XCTAssertEqual(try LoraContainerReader(path: path).entries.map(\.name), ["x"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileSystem.split(path).directory)
        XCTAssertEqual(leftovers, ["t.lora"], "no temporary files are left behind")
    }

    func testRejectsEveryTruncation() throws {
        let bytes = try Fixtures.bytes(try write(try sampleTensors()))
        let dir = try Fixtures.scratchDirectory()
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
            try Fixtures.write(Array(bytes[..<cut]), to: dir + "/cut.lora")
            XCTAssertThrowsError(try LoraContainerReader(path: dir + "/cut.lora").verifyAll(), "truncated at \(cut)")
        }
    }

    /// The container's central promise: no single-bit flip anywhere in the
    /// file goes unnoticed.
    func testEverySingleBitFlipIsDetected() throws {
        let tensors = try sampleTensors()
        let bytes = try Fixtures.bytes(try write(tensors))
        let reader = try LoraContainerReader(path: try write(tensors, name: "flipref"))
        let headerEnd = reader.dataStart
        var flips = 0
        for offset in 0..<bytes.count {
            // Every bit of the preamble and header; one rotating bit of each data byte.
            let bits = offset < headerEnd ? Array(0..<8) : [offset % 8]
            for bit in bits {
                var corrupt = bytes
                corrupt[offset] ^= UInt8(1 << bit)
                flips += 1
                do {
                    let r = try LoraContainerReader(file: MappedFile(bytes: corrupt))
                    try r.verifyAll()
                    XCTFail("bit \(bit) of byte \(offset) flipped without detection")
                } catch {}
            }
        }
        XCTAssertGreaterThan(flips, 2000)
    }

    func testNamesTheCorruptTensor() throws {
        let path = try write(try sampleTensors())
        let reader = try LoraContainerReader(path: path)
        let entry = try XCTUnwrap(reader.entry("w.lora_B.weight"))
        var bytes = try Fixtures.bytes(path)
        bytes[reader.dataStart + entry.storedRange.upperBound - 1] ^= 0x10
        try Fixtures.write(bytes, to: path)
        XCTAssertThrowsError(try LoraContainerReader(path: path).verifyAll()) { error in
            XCTAssertTrue("\(error)".contains("w.lora_B.weight"), "\(error)")
        }
        XCTAssertNoThrow(try LoraContainerReader(path: path).tensor("w.lora_A.weight"))
    }

    /// Builds a container by hand so its header can lie.
    func handmade(header: String, data: [UInt8]) -> [UInt8] {
        var h = Array(header.utf8)
        while (32 + h.count) % 64 != 0 { h.append(0x20) }
        var out = LoraContainer.magic
        out += withUnsafeBytes(of: UInt32(1).littleEndian) { Array($0) }
        out += [0, 0, 0, 0]
        out += withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) }
        out += withUnsafeBytes(of: XXH64.hash(h).littleEndian) { Array($0) }
        return out + h + data
    }

    func assertRejected(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws
    {
        let dir = try Fixtures.scratchDirectory("rejected")
        try Fixtures.write(bytes, to: dir + "/x.lora")
        XCTAssertThrowsError(try LoraContainerReader(path: dir + "/x.lora").verifyAll(), file: file, line: line) {
            error in
            XCTAssertTrue(
                "\(error)".contains(fragment), "\"\(error)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
    }

    func testRejectsLyingHeaders() throws {
        let z = try Zstd.compress(UnsafeRawBufferPointer(start: nil, count: 0))
        func entry(_ fields: String) -> String { #"{"__metadata__":{},"t":{\#(fields)}}"# }
        let h = "0000000000000000"
        // A decompression bomb: a huge raw length behind a few stored bytes is refused before any allocation.
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[1000000000000],"encoding":"zstd","offsets":[0,13],"raw_length":4000000000000,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: z + [UInt8](repeating: 0, count: 13 - z.count)), "impossible")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"raw","offsets":[0,16],"raw_length":12,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 16)), "raw_length")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"raw","offsets":[0,16],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 8)), "past the end")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"raw","offsets":[64,80],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 80)), "64-byte boundary")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"Q4","shape":[4],"encoding":"raw","offsets":[0,16],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 16)), "unknown dtype")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"lz4","offsets":[0,16],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 16)), "unknown encoding")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"raw","offsets":[0,16],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 17)), "trailing")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"raw","offsets":[0,16],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)""#
                ),
                data: [UInt8](repeating: 0, count: 16)), "checksum")
        try assertRejected(handmade(header: #"{"__metadata__":{},"t":{"dtype":"F32","#, data: []), "JSON")
        try assertRejected(
            handmade(
                header:
                    #"{"a":{"dtype":"F32","shape":[2],"encoding":"raw","offsets":[0,8],"raw_length":8,"xxh64":"\#(h)","stored_xxh64":"\#(h)"},"b":{"dtype":"F32","shape":[2],"encoding":"raw","offsets":[0,8],"raw_length":8,"xxh64":"\#(h)","stored_xxh64":"\#(h)"}}"#,
                data: [UInt8](repeating: 0, count: 8)), "overlap")
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[4],"encoding":"planes","offsets":[0,16],"raw_length":16,"xxh64":"\#(h)","stored_xxh64":"\#(h)","planes":[["raw",4],["raw",4],["raw",4]]"#
                ),
                data: [UInt8](repeating: 0, count: 16)), "planes")
        // Found by the fuzzer: an empty tensor whose planes claim stored bytes.
        try assertRejected(
            handmade(
                header: entry(
                    #""dtype":"F32","shape":[0,4],"encoding":"planes","offsets":[0,4],"raw_length":0,"xxh64":"\#(h)","stored_xxh64":"\#(h)","planes":[["zstd",1],["zstd",1],["zstd",1],["zstd",1]]"#
                ),
                data: [1, 2, 3, 4]), "plane length")
        var huge = handmade(header: "{}", data: [])
        huge.replaceSubrange(16..<24, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Array($0) })
        try assertRejected(huge, "100 MB")
        var wrongMagic = handmade(header: "{}", data: [])
        wrongMagic[1] = 0x58
        try assertRejected(wrongMagic, "magic")
        var future = handmade(header: "{}", data: [])
        future[8] = 9
        try assertRejected(future, "version 9")
    }

    /// A tensor larger than the machine can hold is refused with an error,
    /// even when its zstd frame could legitimately expand that far.
    func testRefusesTensorsBeyondMemoryBeforeAllocating() throws {
        let elements = LoraContainerReader.maximumTensorBytes / 4 + 1
        let stored = elements * 4 / Zstd.maximumRatio + 64
        try XCTSkipIf(stored > 16 << 20, "machine too large to build the case cheaply")
        let h = "0000000000000000"
        let header =
            #"{"__metadata__":{},"t":{"dtype":"F32","shape":[\#(elements)],"encoding":"zstd","offsets":[0,\#(stored)],"raw_length":\#(elements * 4),"xxh64":"\#(h)","stored_xxh64":"\#(h)"}}"#
        try assertRejected(handmade(header: header, data: [UInt8](repeating: 0, count: stored)), "memory")
    }

    func testBytePlanesRoundTrip() {
        var rng = TestRandom(seed: 2)
        for width in [2, 4, 8] {
            let raw = (0..<(width * 37)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let planes = raw.withUnsafeBytes { BytePlanes.split($0, width: width) }
            XCTAssertEqual(planes.withUnsafeBytes { BytePlanes.join($0, width: width) }, raw)
        }
        // The exponent lands in plane 0: 1.0f = 0x3F800000 rotated left is 0x7F000000.
        let one = withUnsafeBytes(of: Float(1).bitPattern) { BytePlanes.split($0, width: 4) }
        XCTAssertEqual(one, [0x7F, 0, 0, 0])
    }
}
