#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Tensors

/// A `.lora` file opened for reading.
///
/// Opening validates everything that can be validated without decoding:
/// magic, version, flags, header size cap, header checksum, JSON, every
/// entry's dtype, shape, lengths and offsets (contiguous, 64-byte aligned,
/// zero gaps, no trailing bytes). Each tensor is then decoded on demand and
/// its XXH64 checked before it is returned, so no byte is used unverified.
public final class LoraContainerReader: @unchecked Sendable {
    public let path: String
    /// Entries in name order.
    public let entries: [LoraTensorEntry]
    /// The `__metadata__` object.
    public let metadata: JSONValue
    /// The format version the file declares.
    public let version: UInt32
    /// Where the data section starts.
    public let dataStart: Int
    private let file: MappedFile
    private let index: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        let bytes = file.bytes
        func bad(_ message: String, _ location: String? = nil) -> FormatError {
            FormatError(.malformed, message, path: file.path, location: location)
        }
        guard bytes.count >= LoraContainer.preambleSize else {
            if bytes.count >= 8, Array(bytes[0..<8]) != LoraContainer.magic {
                throw FormatError(.notRecognized, "not a .lora file (wrong magic number)", path: file.path)
            }
            throw bad("file is \(bytes.count) bytes, too short for a .lora preamble")
        }
        guard Array(bytes[0..<8]) == LoraContainer.magic else {
            throw FormatError(.notRecognized, "not a .lora file (wrong magic number)", path: file.path)
        }
        version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == LoraContainer.formatVersion else {
            throw FormatError(
                .unsupported,
                "format version \(version) is not supported (this build reads version \(LoraContainer.formatVersion))",
                path: file.path, location: "byte 8")
        }
        let flags = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian
        guard flags == 0 else { throw bad("unknown flags 0x\(String(flags, radix: 16))", "byte 12") }
        let declared = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        guard declared <= UInt64(LoraContainer.maximumHeaderSize) else {
            throw bad("header length \(declared) exceeds the 100 MB limit", "byte 16")
        }
        let headerLength = Int(declared)
        guard LoraContainer.preambleSize + headerLength <= bytes.count else {
            throw bad("header length \(headerLength) runs past the end of the \(bytes.count)-byte file", "byte 16")
        }
        guard (LoraContainer.preambleSize + headerLength) % LoraContainer.alignment == 0 else {
            throw bad("header length \(headerLength) does not end on a 64-byte boundary", "byte 16")
        }
        let headerBytes = UnsafeRawBufferPointer(
            rebasing: bytes[LoraContainer.preambleSize..<(LoraContainer.preambleSize + headerLength)])
        let storedHash = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
        guard XXH64.hash(headerBytes) == storedHash else {
            throw FormatError(
                .checksumMismatch, "header checksum mismatch (the index or metadata is corrupt)", path: file.path,
                location: "header")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: headerBytes)
        } catch let e as JSONParseError {
            throw bad("header is not valid JSON: \(e.message)", "header byte \(e.offset)")
        }
        guard case .object(let pairs) = json else { throw bad("header is not a JSON object") }
        var metadata: JSONValue = .object([])
        var entries: [LoraTensorEntry] = []
        for (key, value) in pairs {
            if key == "__metadata__" {
                guard case .object = value else { throw bad("__metadata__ is not an object") }
                metadata = value
            } else {
                entries.append(try LoraContainerReader.parseEntry(key, value, path: file.path))
            }
        }
        dataStart = LoraContainer.preambleSize + headerLength
        let dataLength = bytes.count - dataStart

        // Offsets: sorted by start, each at the aligned end of the previous one.
        let byOffset = entries.sorted { $0.storedRange.lowerBound < $1.storedRange.lowerBound }
        var end = 0
        for e in byOffset {
            let expected = LoraContainer.aligned(end)
            guard e.storedRange.lowerBound == expected else {
                throw bad(
                    e.storedRange.lowerBound < expected
                        ? "stored bytes overlap another tensor"
                        : "stored bytes do not start at the next 64-byte boundary (\(expected))", e.name)
            }
            guard e.storedRange.upperBound <= dataLength else {
                throw bad(
                    "stored bytes end at \(dataStart + e.storedRange.upperBound), past the end of the \(bytes.count)-byte file (truncated?)",
                    e.name)
            }
            for i in (dataStart + end)..<(dataStart + e.storedRange.lowerBound) where bytes[i] != 0 {
                throw bad("nonzero padding byte", "byte \(i)")
            }
            end = e.storedRange.upperBound
        }
        guard end == dataLength else {
            throw bad("\(dataLength - end) trailing bytes after the last tensor")
        }
        entries.sort { Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8) }
        self.entries = entries
        self.metadata = metadata
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    static func parseEntry(_ name: String, _ value: JSONValue, path: String) throws -> LoraTensorEntry {
        func bad(_ message: String) -> FormatError { FormatError(.malformed, message, path: path, location: name) }
        guard case .object(let fields) = value else { throw bad("tensor entry is not an object") }
        var dtype: DType?
        var shape: [Int]?
        var encoding: TensorEncoding?
        var range: Range<Int>?
        var rawLength: Int?
        var checksum: UInt64?
        var storedChecksum: UInt64?
        var planes: [LoraTensorEntry.Plane]?
        for (k, v) in fields {
            switch k {
            case "dtype":
                guard let s = v.stringValue else { throw bad("dtype is not a string") }
                guard let d = DType(rawValue: s) else { throw bad("unknown dtype \"\(s)\"") }
                dtype = d
            case "shape":
                guard let dims = v.arrayValue, dims.count <= 8 else {
                    throw bad("shape is not an array of at most 8 dimensions")
                }
                shape = try dims.map {
                    guard case .int(let i) = $0, i >= 0 else {
                        throw bad("shape has a non-integer or negative dimension")
                    }
                    return i
                }
            case "encoding":
                guard let s = v.stringValue, let e = TensorEncoding(rawValue: s) else {
                    throw bad("unknown encoding \(v.compactText)")
                }
                encoding = e
            case "offsets":
                guard let o = v.arrayValue, o.count == 2, case .int(let s) = o[0], case .int(let e) = o[1], s >= 0,
                    e >= s
                else {
                    throw bad("offsets is not a pair [start, end] with 0 ≤ start ≤ end")
                }
                range = s..<e
            case "raw_length":
                guard case .int(let n) = v, n >= 0 else { throw bad("raw_length is not a non-negative integer") }
                rawLength = n
            case "xxh64":
                guard let s = v.stringValue, s.utf8.count == 16, let h = UInt64(s, radix: 16) else {
                    throw bad("xxh64 is not 16 hex digits")
                }
                checksum = h
            case "stored_xxh64":
                guard let s = v.stringValue, s.utf8.count == 16, let h = UInt64(s, radix: 16) else {
                    throw bad("stored_xxh64 is not 16 hex digits")
                }
                storedChecksum = h
            case "planes":
                guard let list = v.arrayValue else { throw bad("planes is not a list") }
                planes = try list.map {
                    guard let pair = $0.arrayValue, pair.count == 2, let c = pair[0].stringValue,
                        let codec = TensorEncoding(rawValue: c), codec != .planes,
                        case .int(let n) = pair[1], n >= 0
                    else {
                        throw bad("planes entries must be [\"raw\"|\"zstd\", length]")
                    }
                    return LoraTensorEntry.Plane(codec: codec, length: n)
                }
            default:
                throw bad("unexpected field \"\(k)\"")
            }
        }
        guard let dtype, let shape, let encoding, let range, let rawLength, let checksum, let storedChecksum else {
            throw bad("tensor entry lacks one of dtype, shape, encoding, offsets, raw_length, xxh64, stored_xxh64")
        }
        // The decompression-bomb guard: the raw length must be what the shape
        // says, and no more than zstd could ever expand the stored bytes to.
        let count: Int
        do { count = try Tensor.elementCount(shape) } catch { throw bad("shape \(shape) has too many elements") }
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, size == rawLength else {
            throw bad("raw_length \(rawLength) does not match shape \(shape) of \(dtype.rawValue)")
        }
        let stored = range.count
        switch encoding {
        case .raw:
            guard stored == rawLength else { throw bad("raw tensor stores \(stored) bytes, expected \(rawLength)") }
            guard planes == nil else { throw bad("planes given for a raw tensor") }
        case .zstd:
            guard planes == nil else { throw bad("planes given for a zstd tensor") }
            guard (stored > 0) == (rawLength > 0), rawLength <= max(stored, 1) * Zstd.maximumRatio else {
                throw bad("raw_length \(rawLength) is impossible for \(stored) stored zstd bytes")
            }
        case .planes:
            let width = dtype.byteSize
            guard dtype.isConvertibleFloat, let planes, planes.count == width else {
                throw bad("planes encoding needs \(width) planes of a floating-point dtype")
            }
            let planeLength = rawLength / width
            var total = 0
            for p in planes {
                if p.codec == .raw {
                    guard p.length == planeLength else {
                        throw bad("raw plane stores \(p.length) bytes, expected \(planeLength)")
                    }
                } else {
                    guard (p.length > 0) == (planeLength > 0), planeLength <= max(p.length, 1) * Zstd.maximumRatio
                    else {
                        throw bad("plane length \(planeLength) is impossible for \(p.length) stored zstd bytes")
                    }
                }
                let (t, o) = total.addingReportingOverflow(p.length)
                guard !o else { throw bad("plane lengths overflow") }
                total = t
            }
            guard total == stored else { throw bad("plane lengths add up to \(total), but \(stored) bytes are stored") }
        }
        return LoraTensorEntry(
            name: name, dtype: dtype, shape: shape, encoding: encoding, storedRange: range,
            rawLength: rawLength, checksum: checksum, storedChecksum: storedChecksum, planes: planes ?? [])
    }

    /// The entry named `name`, if any.
    public func entry(_ name: String) -> LoraTensorEntry? {
        index[name].map { entries[$0] }
    }

    /// The file size in bytes.
    public var fileSize: Int { file.count }

    /// Sum of stored tensor bytes.
    public var storedBytes: Int { entries.reduce(0) { $0 + $1.storedRange.count } }

    /// Sum of raw tensor bytes.
    public var rawBytes: Int { entries.reduce(0) { $0 + $1.rawLength } }

    /// Decodes one tensor and checks its checksum.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entry(name) else { throw FormatError(.malformed, "no tensor named \"\(name)\"", path: path) }
        return try tensor(e)
    }

    /// The largest tensor this reader decodes: half the machine's memory.
    ///
    /// A small zstd frame can legitimately expand 32768-fold, so a short file
    /// can describe a tensor no machine holds; it is refused with an error
    /// rather than letting the allocation kill the process.
    public static let maximumTensorBytes = PhysicalMemory.bytes / 2

    /// Decodes the tensor of an entry of this file and checks its checksum.
    public func tensor(_ e: LoraTensorEntry) throws -> Tensor {
        guard e.rawLength <= LoraContainerReader.maximumTensorBytes else {
            throw FormatError(
                .unsupported, "tensor needs \(e.rawLength) bytes, more than half of this machine's memory",
                path: path, location: e.name)
        }
        let start = dataStart + e.storedRange.lowerBound
        let stored = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(dataStart + e.storedRange.upperBound)])
        guard XXH64.hash(stored) == e.storedChecksum else {
            throw FormatError(
                .checksumMismatch, "checksum mismatch: stored bytes are corrupt", path: path, location: e.name)
        }
        let raw: [UInt8]
        do {
            raw = try LoraContainerReader.decode(stored, entry: e)
        } catch let error as FormatError {
            throw FormatError(error.code, error.message, path: path, location: e.name)
        }
        guard XXH64.hash(raw) == e.checksum else {
            throw FormatError(
                .checksumMismatch, "checksum mismatch: decoded bytes differ from the original", path: path,
                location: e.name)
        }
        do {
            return try Tensor(dtype: e.dtype, shape: e.shape, bytes: raw)
        } catch {
            throw FormatError(
                .malformed, "decoded \(raw.count) bytes do not fit shape \(e.shape) of \(e.dtype.rawValue)", path: path,
                location: e.name)
        }
    }

    /// Decodes stored bytes to raw bytes, without the checksums (``tensor(_:)`` checks both).
    public static func decode(_ stored: UnsafeRawBufferPointer, entry e: LoraTensorEntry) throws -> [UInt8] {
        switch e.encoding {
        case .raw:
            return Array(stored)
        case .zstd:
            if e.rawLength == 0 && stored.isEmpty { return [] }
            return try Zstd.decompress(stored, rawCount: e.rawLength)
        case .planes:
            // Every plane lands in one buffer at offset k·n, then one pass joins them.
            let width = e.dtype.byteSize
            let planeLength = e.rawLength / width
            var failure: Error?
            let planes = [UInt8](unsafeUninitializedCapacity: e.rawLength) { buffer, initialized in
                initialized = e.rawLength
                let out = UnsafeMutableRawBufferPointer(buffer)
                var offset = 0
                for (k, p) in e.planes.enumerated() {
                    let chunk = UnsafeRawBufferPointer(rebasing: stored[offset..<(offset + p.length)])
                    let slot = UnsafeMutableRawBufferPointer(rebasing: out[(k * planeLength)..<((k + 1) * planeLength)])
                    if p.codec == .raw || planeLength == 0 {
                        if planeLength > 0 { slot.copyMemory(from: chunk) }
                    } else {
                        do { try Zstd.decompress(chunk, into: slot) } catch {
                            failure = error
                            return
                        }
                    }
                    offset += p.length
                }
            }
            if let failure { throw failure }
            return planes.withUnsafeBytes { BytePlanes.join($0, width: width) }
        }
    }

    /// Decodes every tensor and checks every checksum, in file order.
    /// Throws the first failure, naming the tensor.
    public func verifyAll() throws {
        for e in entries.sorted(by: { $0.storedRange.lowerBound < $1.storedRange.lowerBound }) {
            _ = try tensor(e)
        }
    }
}
