import Tensors

/// Constants and the per-tensor index entry of the `.lora` container.
///
/// Layout (all integers little-endian):
///
/// | bytes            | content                                                   |
/// |------------------|-----------------------------------------------------------|
/// | 0 ..< 8          | magic `89 4C 4F 52 41 0D 0A 1A` ("\x89LORA\r\n\x1A")      |
/// | 8 ..< 12         | format version (u32, currently 1)                         |
/// | 12 ..< 16        | flags (u32, must be 0)                                    |
/// | 16 ..< 24        | header length H (u64)                                     |
/// | 24 ..< 32        | XXH64 of the H header bytes (u64)                         |
/// | 32 ..< 32+H      | UTF-8 JSON header, space-padded so 32+H is a multiple of 64 |
/// | 32+H ..< end     | data: each tensor's stored bytes, 64-byte aligned, zero gaps |
///
/// The header is an object: `__metadata__` (any JSON object) and one entry per
/// tensor, in name order: `dtype`, `shape`, `encoding` (`raw`, `zstd` or
/// `planes`), `offsets` (stored byte range relative to the data start),
/// `raw_length`, `xxh64` (hex of the raw bytes), `stored_xxh64` (hex of the
/// stored bytes, so that even a flip that a decoder would ignore is caught)
/// and, for `planes`, a list of `[codec, length]` pairs, one per byte plane.
///
/// The magic's first byte is not `{`-compatible and its value as a u64 is far
/// above any header-size cap, so safetensors readers reject it immediately.
public enum LoraContainer {
    public static let magic: [UInt8] = [0x89, 0x4C, 0x4F, 0x52, 0x41, 0x0D, 0x0A, 0x1A]
    public static let formatVersion: UInt32 = 1
    public static let preambleSize = 32
    public static let alignment = 64
    /// The same cap as safetensors.
    public static let maximumHeaderSize = 100_000_000
    /// The `format` value written into the metadata.
    public static let formatName = "adaptermerge.lora"

    @inline(__always) static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

/// How a tensor's bytes are stored.
public enum TensorEncoding: String, Sendable, CaseIterable {
    /// The raw little-endian bytes.
    case raw
    /// One zstd frame of the raw bytes.
    case zstd
    /// Byte planes (see ``BytePlanes``), each stored raw or as a zstd frame.
    case planes
}

/// One tensor's index entry in a `.lora` header.
public struct LoraTensorEntry: Sendable, Equatable {
    /// How one byte plane is stored.
    public struct Plane: Sendable, Equatable {
        public let codec: TensorEncoding
        public let length: Int

        public init(codec: TensorEncoding, length: Int) {
            self.codec = codec
            self.length = length
        }
    }

    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let encoding: TensorEncoding
    /// Stored byte range relative to the start of the data section.
    public let storedRange: Range<Int>
    public let rawLength: Int
    public let checksum: UInt64
    /// XXH64 of the stored bytes.
    public let storedChecksum: UInt64
    /// For `planes`: one entry per plane, most significant first.
    public let planes: [Plane]

    var headerValue: JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("dtype", .string(dtype.rawValue)),
            ("shape", .array(shape.map { .int($0) })),
            ("encoding", .string(encoding.rawValue)),
            ("offsets", [.int(storedRange.lowerBound), .int(storedRange.upperBound)]),
            ("raw_length", .int(rawLength)),
            ("xxh64", .string(XXH64.hex(checksum))),
            ("stored_xxh64", .string(XXH64.hex(storedChecksum))),
        ]
        if encoding == .planes {
            fields.append(("planes", .array(planes.map { [.string($0.codec.rawValue), .int($0.length)] })))
        }
        return .object(fields)
    }
}
