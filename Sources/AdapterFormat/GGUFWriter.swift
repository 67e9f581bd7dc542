import Tensors

/// Writes a GGUF v3 file: metadata, tensor infos, then each tensor's bytes,
/// every offset aligned to `general.alignment` (32), as gguf-py's writer does.
///
/// Tensor data is produced one tensor at a time by a closure and streamed to
/// an atomic file, so memory holds one tensor.
public enum GGUFWriter {
    /// One tensor to write: its name, ggml type and ggml dimensions
    /// (`ne[0]` first: a row of `dimensions[0]` elements).
    public struct TensorSpec: Sendable {
        public let name: String
        public let type: GGMLType
        public let dimensions: [Int]

        public init(name: String, type: GGMLType, dimensions: [Int]) {
            self.name = name
            self.type = type
            self.dimensions = dimensions
        }

        /// Stored bytes: rows × the row size of `type`.
        var byteCount: Int {
            let rows = dimensions.dropFirst().reduce(1, *)
            return rows * type.rowBytes(columns: dimensions.first ?? 1)
        }
    }

    public static let alignment = 32

    /// Writes `path` atomically. `produce` returns each tensor's stored bytes
    /// (``GGMLType/encode(_:)`` makes them from floats).
    public static func write(
        metadata: [(key: String, value: GGUFValue)], tensors: [TensorSpec], to path: String, overwrite: Bool,
        produce: (TensorSpec) throws -> [UInt8]
    ) throws {
        var header: [UInt8] = Array("GGUF".utf8)
        append(UInt32(3), to: &header)
        append(UInt64(tensors.count), to: &header)
        append(UInt64(metadata.count + 1), to: &header)
        appendString("general.alignment", to: &header)
        appendValue(.uint32(UInt32(alignment)), to: &header)
        for (key, value) in metadata {
            appendString(key, to: &header)
            appendValue(value, to: &header)
        }
        var offset = 0
        for t in tensors {
            guard t.type.isSupported, let first = t.dimensions.first, first % t.type.blockSize == 0 else {
                throw FormatError(
                    .invalidContent, "cannot store \(t.dimensions) as \(t.type.name)", path: path, location: t.name)
            }
            appendString(t.name, to: &header)
            append(UInt32(t.dimensions.count), to: &header)
            for d in t.dimensions { append(UInt64(d), to: &header) }
            append(t.type.rawValue, to: &header)
            append(UInt64(offset), to: &header)
            offset += padded(t.byteCount)
        }
        header += [UInt8](repeating: 0, count: padded(header.count) - header.count)
        let out = try AtomicFileWriter(destination: path, overwrite: overwrite)
        try out.write(header)
        for t in tensors {
            let bytes = try produce(t)
            guard bytes.count == t.byteCount else {
                throw FormatError(
                    .invalidContent, "tensor data is \(bytes.count) bytes, \(t.byteCount) expected", path: path,
                    location: t.name)
            }
            try out.write(bytes)
            try out.writeZeros(padded(bytes.count) - bytes.count)
        }
        try out.commit()
    }

    static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func appendString(_ s: String, to bytes: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &bytes)
        bytes += Array(s.utf8)
    }

    /// The value's type code, then the value.
    static func appendValue(_ value: GGUFValue, to bytes: inout [UInt8], typed: Bool = true) {
        if typed { append(typeCode(value), to: &bytes) }
        switch value {
        case .uint8(let v): append(v, to: &bytes)
        case .int8(let v): append(v, to: &bytes)
        case .uint16(let v): append(v, to: &bytes)
        case .int16(let v): append(v, to: &bytes)
        case .uint32(let v): append(v, to: &bytes)
        case .int32(let v): append(v, to: &bytes)
        case .float32(let v): append(v.bitPattern, to: &bytes)
        case .bool(let v): bytes.append(v ? 1 : 0)
        case .string(let s): appendString(s, to: &bytes)
        case .uint64(let v): append(v, to: &bytes)
        case .int64(let v): append(v, to: &bytes)
        case .float64(let v): append(v.bitPattern, to: &bytes)
        case .array(let items):
            append(items.first.map(typeCode) ?? 0, to: &bytes)
            append(UInt64(items.count), to: &bytes)
            for item in items { appendValue(item, to: &bytes, typed: false) }
        }
    }

    static func typeCode(_ value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }
}

extension GGMLType {
    /// The types ``encode(_:)`` writes.
    public static let encodable: [GGMLType] = [.f32, .f16, .bf16, .q8_0]

    /// `values` (a whole number of rows, each a whole number of blocks) in
    /// this type's bytes: f32/f16/bf16 rounded to nearest even, Q8_0 as
    /// ggml's reference quantizer (`d = max|x| / 127`, `q = round(x / d)`).
    public func encode(_ values: [Float]) throws -> [UInt8] {
        switch self {
        case .f32:
            return values.withUnsafeBytes { Array($0) }
        case .f16, .bf16:
            var out = [UInt8]()
            out.reserveCapacity(values.count * 2)
            for v in values {
                let bits = self == .f16 ? FloatBits.f16(fromF32: v.bitPattern) : FloatBits.bf16(fromF32: v.bitPattern)
                out.append(UInt8(bits & 0xFF))
                out.append(UInt8(bits >> 8))
            }
            return out
        case .q8_0:
            guard values.allSatisfy(\.isFinite) else {
                throw TensorError(.invalidShape, "Q8_0 cannot hold NaN or infinity")
            }
            guard values.count % 32 == 0 else {
                throw TensorError(.invalidShape, "Q8_0 needs a multiple of 32 values, got \(values.count)")
            }
            var out = [UInt8]()
            out.reserveCapacity(values.count / 32 * 34)
            for start in stride(from: 0, to: values.count, by: 32) {
                var amax: Float = 0
                for i in start..<(start + 32) { amax = Swift.max(amax, abs(values[i])) }
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                let bits = FloatBits.f16(fromF32: d.bitPattern)
                out.append(UInt8(bits & 0xFF))
                out.append(UInt8(bits >> 8))
                for i in start..<(start + 32) { out.append(UInt8(bitPattern: Int8((values[i] * id).rounded()))) }
            }
            return out
        default:
            throw TensorError(.unsupportedDType, "writing \(name) tensors is not supported (F32, F16, BF16, Q8_0)")
        }
    }
}
