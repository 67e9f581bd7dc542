// The GGUF header, as gguf.cpp (ggml) and gguf_reader.py (gguf-py) read it:
//
//   magic "GGUF", version u32, tensor count u64, metadata count u64,
//   metadata: key (u64 length + UTF-8), value type u32, value
//             (scalars little-endian; string = u64 length + bytes; array = element type u32,
//              count u64, elements),
//   tensor infos: name (string), n_dims u32 (≤ 4), ne u64 × n_dims, type u32,
//                 offset u64 (relative to the data section, a multiple of the alignment),
//   padding to general.alignment, the data section.
//
// Every count and length is checked against the bytes left before anything is reserved for it:
// n entries of a kind whose smallest encoding is k bytes need n × k bytes, so no count can make the
// reader allocate more than the file could hold (nested arrays included, each level checked).

/// The parsed header of a GGUF file.
struct GGUFHeader {
    var version: UInt32
    var metadata: [String: GGUFValue]
    var metadataKeys: [String]
    var tensors: [GGUFTensorInfo]
    var alignment: Int
    var dataOffset: Int
    var index: [String: Int]
}

/// A bounds-checked little-endian reader of a GGUF header.
struct GGUFParser {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0
    /// Metadata values still allowed (``GGUFFile/maximumMetadataValues``).
    var valueBudget = GGUFFile.maximumMetadataValues

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    private var remaining: Int { bytes.count - offset }

    /// An error at byte `at` of the file, inside `what`.
    private func error(
        _ message: String, at: Int, _ what: String, code: FormatError.Code = .malformed
    ) -> FormatError {
        FormatError(code, message, path: path, location: "\(what) (byte \(at))")
    }

    private func truncated(_ size: Int, _ what: String) -> FormatError {
        error("the file ends here: \(size) bytes needed, \(remaining) left", at: offset, what)
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw truncated(size, what()) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    private mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let length = try load(UInt64.self, what())
        guard length <= UInt64(remaining) else {
            throw error(
                "string length \(length) runs past the end of the file (\(remaining) bytes left)", at: start, what())
        }
        let end = offset + Int(length)
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), as: UTF8.self) else {
            throw error("string of \(length) bytes is not valid UTF-8", at: offset, what())
        }
        offset = end
        return s
    }

    /// The smallest encoding of a value of GGUF type `type` (nil for a type GGUF does not define).
    private static func minimumSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1  // u8, i8, bool
        case 2, 3: return 2  // u16, i16
        case 4, 5, 6: return 4  // u32, i32, f32
        case 8, 10, 11, 12: return 8  // string (its length), u64, i64, f64
        case 9: return 12  // array: element type + count
        default: return nil
        }
    }

    private static let typeNames = [
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64",
    ]

    /// One value of type `type`; `what` names it (`key`, `key[3]`) for errors.
    private mutating func value(_ type: UInt32, depth: Int, _ what: () -> String) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try load(UInt8.self, what()))
        case 1: return .int8(try load(Int8.self, what()))
        case 2: return .uint16(try load(UInt16.self, what()))
        case 3: return .int16(try load(Int16.self, what()))
        case 4: return .uint32(try load(UInt32.self, what()))
        case 5: return .int32(try load(Int32.self, what()))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self, what())))
        case 7:
            let b = try load(UInt8.self, what())
            guard b <= 1 else { throw error("bool byte is \(b), not 0 or 1", at: offset - 1, what()) }
            return .bool(b == 1)
        case 8: return .string(try string(what()))
        case 9: return try array(depth: depth + 1, what)
        case 10: return .uint64(try load(UInt64.self, what()))
        case 11: return .int64(try load(Int64.self, what()))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self, what())))
        default: throw error("unknown value type \(type)", at: offset - 4, what())
        }
    }

    private mutating func array(depth: Int, _ what: () -> String) throws -> GGUFValue {
        let start = offset
        let elementType = try load(UInt32.self, what())
        guard let size = Self.minimumSize(elementType) else {
            throw error("array has unknown element type \(elementType)", at: start, what())
        }
        let count = try load(UInt64.self, what())
        let typeName = Self.typeNames[Int(elementType)]
        guard count <= UInt64(remaining / size) else {
            throw error(
                "array of \(count) \(typeName) values cannot fit in the \(remaining) bytes left", at: start, what())
        }
        guard elementType != 9 || depth < GGUFFile.maximumArrayDepth else {
            throw error(
                "arrays nest more than \(GGUFFile.maximumArrayDepth) deep", at: start, what(), code: .unsupported)
        }
        let n = Int(count)
        guard n <= valueBudget else {
            throw error(
                "the metadata holds more than \(GGUFFile.maximumMetadataValues) values", at: start, what(),
                code: .unsupported)
        }
        valueBudget -= n
        var items: [GGUFValue] = []
        items.reserveCapacity(n)
        for i in 0..<n {
            items.append(try value(elementType, depth: depth, { "\(what())[\(i)]" }))
        }
        return .array(items)
    }

    mutating func parse() throws -> GGUFHeader {
        guard bytes.count >= 4 else {
            if !bytes.elementsEqual("GGUF".utf8.prefix(bytes.count)) {
                throw FormatError(.notRecognized, "not a GGUF file (\(bytes.count) bytes)", path: path)
            }
            throw FormatError(.malformed, "file is \(bytes.count) bytes, too short for a GGUF header", path: path)
        }
        guard bytes.prefix(4).elementsEqual("GGUF".utf8) else {
            let hex = bytes.prefix(4).map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            throw FormatError(.notRecognized, "not a GGUF file (it starts with \(hex), not \"GGUF\")", path: path)
        }
        offset = 4
        let version = try load(UInt32.self, "the version")
        if version != 0 && version & 0xFFFF == 0 {
            let hex = String(version, radix: 16)
            throw error(
                "version field reads 0x\(hex): a big-endian GGUF file, which adaptermerge does not read", at: 4,
                "the version", code: .unsupported)
        }
        guard version == 2 || version == 3 else {
            let note = version == 1 ? "; version 1 had 32-bit counts" : ""
            throw error(
                "GGUF version \(version) is not supported (versions 2 and 3 are\(note))", at: 4, "the version",
                code: .unsupported)
        }
        let tensorCount = try load(UInt64.self, "the tensor count")
        let keyCount = try load(UInt64.self, "the metadata count")
        // A metadata entry takes at least 13 bytes (key length, type, a 1-byte value), a tensor
        // info 24 (name length, n_dims, type, offset).
        guard keyCount <= UInt64(remaining / 13) else {
            throw error("\(keyCount) metadata entries cannot fit in the \(remaining) bytes left", at: 16, "the header")
        }
        guard tensorCount <= UInt64((remaining - 13 * Int(keyCount)) / 24) else {
            let counts = "\(tensorCount) tensor infos and \(keyCount) metadata entries"
            throw error("\(counts) cannot fit in the \(remaining) bytes left", at: 8, "the header")
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(Int(keyCount))
        for i in 0..<Int(keyCount) {
            let start = offset
            let key = try string("metadata entry \(i)")
            guard !key.isEmpty else { throw error("metadata key is empty", at: start, "metadata entry \(i)") }
            guard metadata[key] == nil else { throw error("duplicate metadata key", at: start, GGUFFile.place(key)) }
            let type = try load(UInt32.self, GGUFFile.place(key))
            metadata[key] = try value(type, depth: 0, { GGUFFile.place(key) })
            keys.append(key)
        }

        var alignment = GGUFFile.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard case .uint32(let value) = a else {
                throw FormatError(
                    .malformed, "must be a u32, not \(a.typeName)", path: path, location: "general.alignment")
            }
            guard value != 0 && value & (value - 1) == 0 else {
                throw FormatError(
                    .malformed, "\(value) is not a power of two", path: path, location: "general.alignment")
            }
            alignment = Int(value)
        }

        // Infos first: the data section starts only after the last of them.
        var infos: [(name: String, dimensions: [Int], type: GGMLType, relative: UInt64, at: Int)] = []
        infos.reserveCapacity(Int(tensorCount))
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let start = offset
            let name = try string("tensor info \(i)")
            // Bare, as other readers name tensors (quoted when empty or unprintable).
            let what = GGUFFile.place(name)
            guard index[name] == nil else { throw error("duplicate tensor name", at: start, what) }
            let dimensionCount = try load(UInt32.self, what)
            guard dimensionCount <= 4 else {
                throw error("\(dimensionCount) dimensions, more than ggml's 4", at: offset - 4, what)
            }
            var dimensions: [Int] = []
            for _ in 0..<dimensionCount {
                let ne = try load(UInt64.self, what)
                guard let n = Int(exactly: ne) else {
                    throw error("dimension \(ne) is too large", at: offset - 8, what)
                }
                dimensions.append(n)
            }
            let type = GGMLType(rawValue: try load(UInt32.self, what))
            guard type.isKnown else {
                throw error("ggml type \(type.rawValue) is not one ggml defines", at: offset - 4, what)
            }
            let relative = try load(UInt64.self, what)
            index[name] = i
            infos.append((name, dimensions, type, relative, start))
        }

        // gguf-py pads even a file without tensors; ggml does not look past the infos then.
        let padding = (alignment - offset % alignment) % alignment
        let dataOffset = offset + padding
        if !infos.isEmpty && dataOffset > bytes.count {
            throw error(
                "the file ends before the data section (\(padding) bytes of padding to \(alignment) needed)",
                at: offset, "the end of the tensor infos")
        }
        let dataSize = max(bytes.count - dataOffset, 0)
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for (name, dimensions, type, relative, at) in infos {
            let what = GGUFFile.place(name)
            let size = try Self.size(dimensions, type) { error($0, at: at, what) }
            guard relative % UInt64(alignment) == 0 else {
                throw error("data offset \(relative) is not a multiple of the alignment \(alignment)", at: at, what)
            }
            guard relative <= UInt64(dataSize), size.byteCount <= dataSize - Int(relative) else {
                let bytes = "\(size.byteCount) bytes at data offset \(relative)"
                throw error(
                    "\(bytes) run past the end of the file (the data section holds \(dataSize))", at: at, what)
            }
            tensors.append(
                GGUFTensorInfo(
                    name: name, dimensions: dimensions, type: type, offset: dataOffset + Int(relative),
                    byteCount: size.byteCount, columns: size.columns, rows: size.rows))
        }
        let placed = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(placed, placed.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw FormatError(
                .malformed, "data overlaps that of tensor \(GGUFFile.place(a.name))", path: path,
                location: GGUFFile.place(b.name))
        }
        return GGUFHeader(
            version: version, metadata: metadata, metadataKeys: keys, tensors: tensors, alignment: alignment,
            dataOffset: dataOffset, index: index)
    }

    /// Columns, rows and bytes of a tensor, refusing a row that is not whole blocks and any
    /// product that overflows.
    private static func size(
        _ dimensions: [Int], _ type: GGMLType, _ bad: (String) -> FormatError
    ) throws -> (columns: Int, rows: Int, byteCount: Int) {
        let columns = dimensions.first ?? 1
        var rows = 1
        var elements = columns
        for n in dimensions.dropFirst() {
            let (r, o1) = rows.multipliedReportingOverflow(by: n)
            let (e, o2) = elements.multipliedReportingOverflow(by: n)
            guard !o1, !o2 else { throw bad("shape \(dimensions) has too many elements") }
            rows = r
            elements = e
        }
        guard columns % type.blockSize == 0 else {
            throw bad("ne[0] = \(columns) is not a multiple of \(type.name)'s block size \(type.blockSize)")
        }
        let (rowBytes, o1) = (columns / type.blockSize).multipliedReportingOverflow(by: type.typeSize)
        let (byteCount, o2) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !o1, !o2 else { throw bad("shape \(dimensions) of \(type.name) is too large") }
        return (columns, rows, byteCount)
    }
}
