/// The element types of a tensor, named as safetensors names them.
///
/// adaptermerge computes in `f32` and `f64`; it stores adapters in `f32`, `f16`
/// or `bf16`. The integer and 8-bit float types exist so that any safetensors
/// file can be read and written back unchanged.
public enum DType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// The floating-point types adaptermerge can convert to and from `Float`.
    public var isConvertibleFloat: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64: return true
        default: return false
        }
    }

    /// The short lowercase name used on the command line (`f32`, `bf16`, ...).
    public var shortName: String { rawValue.lowercased() }

    /// Parses either the safetensors name (`BF16`) or the short name (`bf16`).
    public init?(name: String) {
        if let exact = DType(rawValue: name) {
            self = exact
            return
        }
        guard let folded = DType(rawValue: name.uppercased()) else { return nil }
        self = folded
    }
}
