/// One metadata value of a GGUF file, with the exact type the file gives it.
///
/// Integers keep their width and signedness and floats their precision, so a reader can be as
/// strict as llama.cpp (which refuses a `u32` key written as `i32`) or use the lenient typed getters
/// of ``GGUFFile`` (``GGUFFile/integer(_:)`` takes any integer type). Arrays hold values of one type,
/// arrays included (nested arrays, which gguf-py writes and reads and ggml refuses); an empty array
/// does not keep the element type the file declared for it.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The type's name as ggml prints it (`u32`, `str`, `arr`, …), for messages.
    public var typeName: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "str"
        case .array: return "arr"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float64: return "f64"
        }
    }

    /// The value of any integer type, if it fits in `Int`; nil for other types or out of range.
    public var integerValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(exactly: v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// Whether the value is of an integer type (whatever its value).
    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: return true
        default: return false
        }
    }

    /// A float32 or float64, or an integer that a `Double` holds exactly; nil otherwise.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        case .uint64(let v): return Double(exactly: v)
        case .int64(let v): return Double(exactly: v)
        default: return integerValue.flatMap { Double(exactly: $0) }
        }
    }
}
