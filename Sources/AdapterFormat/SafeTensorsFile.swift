import Tensors

/// One tensor's entry in a safetensors header.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public let dataRange: Range<Int>
}

/// A safetensors file opened for reading.
///
/// Opening validates the whole structure exactly as the reference
/// implementation does (header length ≤ 100 MB, UTF-8 JSON, offsets
/// contiguous from 0 with no holes or overlaps, byte sizes that match
/// shape × dtype, no trailing bytes) and additionally rejects duplicate
/// keys. Tensor bytes are read lazily from a memory map, one at a time.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The reference implementation's header cap.
    public static let maximumHeaderSize = 100_000_000

    public let path: String
    /// Entries in file (offset) order.
    public let entries: [SafeTensorsEntry]
    /// The `__metadata__` map, if present.
    public let metadata: [String: String]?
    /// The header length (the u64 at the start of the file).
    public let headerLength: Int
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
        guard bytes.count >= 8 else { throw bad("file is \(bytes.count) bytes, too short for a safetensors header") }
        let n = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard n <= UInt64(SafeTensorsFile.maximumHeaderSize) else {
            throw bad("header length \(n) exceeds the 100 MB limit", "byte 0")
        }
        let headerLength = Int(n)
        guard 8 + headerLength <= bytes.count else {
            throw bad("header length \(headerLength) runs past the end of the \(bytes.count)-byte file", "byte 0")
        }
        self.headerLength = headerLength
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
        let json: JSONValue
        do {
            json = try JSONValue(parsing: headerBytes)
        } catch let e as JSONParseError {
            throw bad("header is not valid JSON: \(e.message)", "header byte \(e.offset)")
        }
        guard case .object(let pairs) = json else { throw bad("header is not a JSON object") }

        var entries: [SafeTensorsEntry] = []
        var metadata: [String: String]?
        for (key, value) in pairs {
            if key == "__metadata__" {
                // The reference reads `"__metadata__": null` (mlx-lm writes it) as no metadata.
                if case .null = value { continue }
                guard case .object(let m) = value else { throw bad("__metadata__ is not an object", key) }
                var map: [String: String] = [:]
                for (k, v) in m {
                    guard case .string(let s) = v else {
                        throw bad("__metadata__ value for \"\(k)\" is not a string", key)
                    }
                    map[k] = s
                }
                metadata = map
                continue
            }
            entries.append(try SafeTensorsFile.parseEntry(key, value, path: file.path))
        }
        entries.sort {
            $0.dataRange.lowerBound < $1.dataRange.lowerBound
                || ($0.dataRange.lowerBound == $1.dataRange.lowerBound
                    && $0.dataRange.upperBound < $1.dataRange.upperBound)
        }
        var expectedStart = 0
        for e in entries {
            guard e.dataRange.lowerBound == expectedStart else {
                throw bad(
                    e.dataRange.lowerBound > expectedStart
                        ? "data offsets leave a hole before this tensor"
                        : "data offsets overlap another tensor", e.name)
            }
            let count: Int
            do { count = try Tensor.elementCount(e.shape) } catch {
                throw bad("shape \(e.shape) has too many elements", e.name)
            }
            let (size, overflow) = count.multipliedReportingOverflow(by: e.dtype.byteSize)
            guard !overflow, size == e.dataRange.count else {
                throw bad(
                    "data offsets span \(e.dataRange.count) bytes but shape \(e.shape) of \(e.dtype.rawValue) needs \(overflow ? "too many" : String(size))",
                    e.name)
            }
            expectedStart = e.dataRange.upperBound
        }
        guard 8 + headerLength + expectedStart == bytes.count else {
            throw bad(
                8 + headerLength + expectedStart < bytes.count
                    ? "\(bytes.count - 8 - headerLength - expectedStart) trailing bytes after the last tensor"
                    : "file is truncated: tensors need \(expectedStart) data bytes, \(bytes.count - 8 - headerLength) present"
            )
        }
        self.entries = entries
        self.metadata = metadata
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    static func parseEntry(_ name: String, _ value: JSONValue, path: String) throws -> SafeTensorsEntry {
        func bad(_ message: String) -> FormatError { FormatError(.malformed, message, path: path, location: name) }
        guard case .object(let fields) = value else { throw bad("tensor entry is not an object") }
        var dtype: DType?
        var shape: [Int]?
        var range: Range<Int>?
        for (k, v) in fields {
            switch k {
            case "dtype":
                guard let s = v.stringValue else { throw bad("dtype is not a string") }
                guard let d = DType(rawValue: s) else { throw bad("unknown dtype \"\(s)\"") }
                dtype = d
            case "shape":
                guard let dims = v.arrayValue else { throw bad("shape is not an array") }
                shape = try dims.map {
                    guard case .int(let i) = $0, i >= 0 else {
                        throw bad("shape has a non-integer or negative dimension")
                    }
                    return i
                }
            case "data_offsets":
                guard let o = v.arrayValue, o.count == 2, case .int(let s) = o[0], case .int(let e) = o[1], s >= 0,
                    e >= s
                else {
                    throw bad("data_offsets is not a pair [start, end] with 0 ≤ start ≤ end")
                }
                range = s..<e
            default:
                throw bad("unexpected field \"\(k)\"")
            }
        }
        guard let dtype, let shape, let range else { throw bad("tensor entry lacks dtype, shape or data_offsets") }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataRange: range)
    }

    /// The entry named `name`, if any.
    public func entry(_ name: String) -> SafeTensorsEntry? {
        index[name].map { entries[$0] }
    }

    /// Reads one tensor (copying only its bytes).
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entry(name) else {
            throw FormatError(.malformed, "no tensor named \"\(name)\"", path: path)
        }
        return try tensor(e)
    }

    /// The mapped bytes of an entry of this file, valid while the file lives:
    /// for readers that widen a tensor a part at a time instead of copying it.
    public func bytes(of e: SafeTensorsEntry) -> UnsafeRawBufferPointer {
        let start = 8 + headerLength + e.dataRange.lowerBound
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + e.dataRange.count)])
    }

    /// Reads the tensor of an entry of this file.
    public func tensor(_ e: SafeTensorsEntry) throws -> Tensor {
        let start = 8 + headerLength + e.dataRange.lowerBound
        return try Tensor(dtype: e.dtype, shape: e.shape, bytes: file.copy(start..<(start + e.dataRange.count)))
    }
}
