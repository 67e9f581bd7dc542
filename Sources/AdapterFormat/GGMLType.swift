/// The element type of a tensor in a GGUF file: ggml's `enum ggml_type`, by number.
///
/// A struct rather than an enum so that any number a file holds can be carried and named in an
/// error: ``GGUFFile`` opens files whose tensors have types it cannot dequantize (their metadata and
/// their other tensors stay readable) and refuses only when such a tensor is asked for
/// (``requireSupported()``). The numbers, names and block sizes are those of ggml.h and of the gguf
/// package (gguf 0.19.0's `GGML_QUANT_SIZES`); numbers ggml has retired (4, 5, 31–33, 36–38) and
/// numbers past the table (42, Q2_0 in the newest ggml.h, is not in gguf 0.19.0) are unknown,
/// with ``blockSize`` and ``typeSize`` 0 as in ggml.
public struct GGMLType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let f32 = Self(rawValue: 0)
    public static let f16 = Self(rawValue: 1)
    public static let q4_0 = Self(rawValue: 2)
    public static let q4_1 = Self(rawValue: 3)
    public static let q5_0 = Self(rawValue: 6)
    public static let q5_1 = Self(rawValue: 7)
    public static let q8_0 = Self(rawValue: 8)
    public static let q8_1 = Self(rawValue: 9)
    public static let q2_K = Self(rawValue: 10)
    public static let q3_K = Self(rawValue: 11)
    public static let q4_K = Self(rawValue: 12)
    public static let q5_K = Self(rawValue: 13)
    public static let q6_K = Self(rawValue: 14)
    public static let q8_K = Self(rawValue: 15)
    public static let iq2_XXS = Self(rawValue: 16)
    public static let iq2_XS = Self(rawValue: 17)
    public static let iq3_XXS = Self(rawValue: 18)
    public static let iq1_S = Self(rawValue: 19)
    public static let iq4_NL = Self(rawValue: 20)
    public static let iq3_S = Self(rawValue: 21)
    public static let iq2_S = Self(rawValue: 22)
    public static let iq4_XS = Self(rawValue: 23)
    public static let i8 = Self(rawValue: 24)
    public static let i16 = Self(rawValue: 25)
    public static let i32 = Self(rawValue: 26)
    public static let i64 = Self(rawValue: 27)
    public static let f64 = Self(rawValue: 28)
    public static let iq1_M = Self(rawValue: 29)
    public static let bf16 = Self(rawValue: 30)
    public static let tq1_0 = Self(rawValue: 34)
    public static let tq2_0 = Self(rawValue: 35)
    public static let mxfp4 = Self(rawValue: 39)
    public static let nvfp4 = Self(rawValue: 40)
    public static let q1_0 = Self(rawValue: 41)

    /// The types ``GGMLType/dequantize(_:count:into:)`` handles, in the order errors list them.
    public static let supported: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K,
    ]

    /// (name, elements per block, bytes per block) by number; a nil entry is a number ggml does not use.
    private static let table: [(name: String, blockSize: Int, typeSize: Int)?] = {
        let qkK = 256
        var t = [(name: String, blockSize: Int, typeSize: Int)?](repeating: nil, count: 42)
        t[0] = ("F32", 1, 4)
        t[1] = ("F16", 1, 2)
        t[2] = ("Q4_0", 32, 2 + 16)
        t[3] = ("Q4_1", 32, 2 + 2 + 16)
        t[6] = ("Q5_0", 32, 2 + 4 + 16)
        t[7] = ("Q5_1", 32, 2 + 2 + 4 + 16)
        t[8] = ("Q8_0", 32, 2 + 32)
        t[9] = ("Q8_1", 32, 4 + 4 + 32)
        t[10] = ("Q2_K", qkK, 2 + 2 + qkK / 16 + qkK / 4)
        t[11] = ("Q3_K", qkK, 2 + qkK / 4 + qkK / 8 + 12)
        t[12] = ("Q4_K", qkK, 2 + 2 + qkK / 2 + 12)
        t[13] = ("Q5_K", qkK, 2 + 2 + qkK / 2 + qkK / 8 + 12)
        t[14] = ("Q6_K", qkK, 2 + qkK / 2 + qkK / 4 + qkK / 16)
        t[15] = ("Q8_K", qkK, 4 + qkK + qkK / 8)
        t[16] = ("IQ2_XXS", qkK, 2 + qkK / 4)
        t[17] = ("IQ2_XS", qkK, 2 + qkK / 4 + qkK / 32)
        t[18] = ("IQ3_XXS", qkK, 2 + qkK / 4 + qkK / 8)
        t[19] = ("IQ1_S", qkK, 2 + qkK / 8 + qkK / 16)
        t[20] = ("IQ4_NL", 32, 2 + 16)
        t[21] = ("IQ3_S", qkK, 2 + qkK / 4 + qkK / 8 + qkK / 32 + 4)
        t[22] = ("IQ2_S", qkK, 2 + qkK / 4 + qkK / 16)
        t[23] = ("IQ4_XS", qkK, 2 + 2 + qkK / 2 + qkK / 64)
        t[24] = ("I8", 1, 1)
        t[25] = ("I16", 1, 2)
        t[26] = ("I32", 1, 4)
        t[27] = ("I64", 1, 8)
        t[28] = ("F64", 1, 8)
        t[29] = ("IQ1_M", qkK, qkK / 8 + qkK / 16 + qkK / 32)
        t[30] = ("BF16", 1, 2)
        t[34] = ("TQ1_0", qkK, 2 + 4 * 13)
        t[35] = ("TQ2_0", qkK, 2 + 64)
        t[39] = ("MXFP4", 32, 1 + 16)
        t[40] = ("NVFP4", 64, 4 + 32)
        t[41] = ("Q1_0", 128, 2 + 16)
        return t
    }()

    private var entry: (name: String, blockSize: Int, typeSize: Int)? {
        Int(exactly: rawValue).flatMap { $0 < Self.table.count ? Self.table[$0] : nil }
    }

    /// Whether ggml (as of gguf 0.19.0) defines this number, so that its sizes are known.
    public var isKnown: Bool { entry != nil }

    /// Whether ``dequantize(_:count:into:)`` handles this type.
    public var isSupported: Bool { Self.supported.contains(self) }

    /// The name as ggml's Python package spells it (`Q4_K`, `IQ2_XXS`, `BF16`), or `type 99` for a
    /// number it does not define.
    public var name: String { entry?.name ?? "type \(rawValue)" }

    public var description: String { name }

    /// Elements per block (1 for the plain float and integer types, 32 or 256 for most
    /// quantizations); 0 for an unknown type.
    public var blockSize: Int { entry?.blockSize ?? 0 }

    /// Bytes per block; 0 for an unknown type.
    public var typeSize: Int { entry?.typeSize ?? 0 }

    /// The bytes of one row of `columns` elements, which must be a multiple of ``blockSize`` (as
    /// every tensor ``GGUFFile`` accepts is).
    public func rowBytes(columns: Int) -> Int {
        precondition(isKnown && columns >= 0 && columns % blockSize == 0, "\(columns) columns of \(name)")
        return columns / blockSize * typeSize
    }

    /// Throws, naming this type and the supported ones, unless ``dequantize(_:count:into:)``
    /// handles it. The error names no file; ``GGUFFile``'s own methods add the file and the tensor.
    public func requireSupported() throws {
        guard isSupported else {
            throw FormatError(.unsupported, Self.unsupportedMessage(self))
        }
    }

    static func unsupportedMessage(_ type: GGMLType) -> String {
        "tensor type \(type.name) is not supported (\(supported.map(\.name).joined(separator: ", ")))"
    }
}
