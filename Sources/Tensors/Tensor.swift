/// A dense tensor: a dtype, a shape and its little-endian bytes.
///
/// Storage is kept as raw bytes so that any safetensors or `.lora` tensor can
/// be carried through the tool bit for bit. Numeric work converts to `Float`
/// or `Double` with ``floats()`` / ``doubles()`` and back with
/// ``init(floats:shape:dtype:)``.
public struct Tensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    public let bytes: [UInt8]

    /// Creates a tensor from raw little-endian bytes, checking that the byte
    /// count matches the shape.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        let count = try Tensor.elementCount(shape)
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, expected == bytes.count else {
            throw TensorError(
                .sizeMismatch,
                "tensor of shape \(shape) and dtype \(dtype.rawValue) needs \(overflow ? "too many" : String(expected)) bytes, got \(bytes.count)"
            )
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Creates a floating-point tensor from `Float` values, narrowing with
    /// round-to-nearest-even when `dtype` is `f16` or `bf16`.
    public init(floats: [Float], shape: [Int], dtype: DType = .f32) throws {
        let count = try Tensor.elementCount(shape)
        guard count == floats.count else {
            throw TensorError(.sizeMismatch, "shape \(shape) holds \(count) elements, got \(floats.count) values")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = try Tensor.encode(floats, as: dtype)
    }

    /// Creates an `f64` tensor from `Double` values.
    public init(doubles: [Double], shape: [Int]) throws {
        let count = try Tensor.elementCount(shape)
        guard count == doubles.count else {
            throw TensorError(.sizeMismatch, "shape \(shape) holds \(count) elements, got \(doubles.count) values")
        }
        self.dtype = .f64
        self.shape = shape
        self.bytes = doubles.withUnsafeBytes { Array($0) }
    }

    /// The number of elements.
    public var count: Int { bytes.count / dtype.byteSize }

    /// Product of `shape`, checked for negative dimensions and overflow.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { throw TensorError(.invalidShape, "negative dimension in shape \(shape)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw TensorError(.invalidShape, "shape \(shape) has too many elements") }
            count = product
        }
        return count
    }
}

extension Tensor {
    /// The values widened (or, for `f64`, rounded) to `Float`.
    public func floats() throws -> [Float] {
        let n = count
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { dst in
            try bytes.withUnsafeBytes { raw in
                try Tensor.decode(raw, dtype: dtype, into: dst)
            }
        }
        return out
    }

    /// The values as `Double`, exactly, optionally multiplied by `scale`
    /// (one rounding per element, in `Double`).
    ///
    /// Widening goes straight from the stored bytes: merges call this on every
    /// factor, so it avoids the intermediate `[Float]`.
    public func doubles(scaledBy scale: Double = 1) throws -> [Double] {
        let n = count
        let dtype = self.dtype
        return try [Double](unsafeUninitializedCapacity: n) { dst, initialized in
            try bytes.withUnsafeBytes { raw in
                switch dtype {
                case .f64:
                    let src = raw.bindMemory(to: Double.self)
                    for i in 0..<n { dst[i] = src[i] * scale }
                case .f32:
                    let src = raw.bindMemory(to: Float.self)
                    for i in 0..<n { dst[i] = Double(src[i]) * scale }
                case .bf16:
                    let src = raw.bindMemory(to: UInt16.self)
                    for i in 0..<n { dst[i] = Double(Float(bitPattern: FloatBits.f32(fromBF16: src[i]))) * scale }
                case .f16:
                    let src = raw.bindMemory(to: UInt16.self)
                    for i in 0..<n { dst[i] = Double(Float(bitPattern: FloatBits.f32(fromF16: src[i]))) * scale }
                default:
                    throw TensorError(
                        .unsupportedDType,
                        "dtype \(dtype.rawValue) is not a floating-point type adaptermerge computes with")
                }
            }
            initialized = n
        }
    }

    /// Creates a floating-point tensor from `Double` values, rounding once to
    /// `f32` and then (for `f16`/`bf16`) to nearest even, as
    /// ``init(floats:shape:dtype:)`` does; `f64` keeps them exactly.
    public init(narrowing values: [Double], shape: [Int], dtype: DType) throws {
        if dtype == .f64 {
            try self.init(doubles: values, shape: shape)
            return
        }
        let floats = [Float](unsafeUninitializedCapacity: values.count) { dst, initialized in
            values.withUnsafeBufferPointer { src in
                for i in 0..<src.count { dst[i] = Float(src[i]) }
            }
            initialized = values.count
        }
        try self.init(floats: floats, shape: shape, dtype: dtype)
    }

    /// The same values in another floating-point dtype (round to nearest even
    /// when narrowing). Converting to the tensor's own dtype returns it as is.
    public func converted(to target: DType) throws -> Tensor {
        if target == dtype { return self }
        if target == .f64 { return try Tensor(doubles: try doubles(), shape: shape) }
        return try Tensor(floats: try floats(), shape: shape, dtype: target)
    }

    /// How many elements are NaN or infinite (0 for non-float dtypes).
    public var nonFiniteCount: Int {
        bytes.withUnsafeBytes { raw -> Int in
            var n = 0
            switch dtype {
            case .f32:
                for bits in raw.bindMemory(to: UInt32.self) where bits & 0x7F80_0000 == 0x7F80_0000 { n += 1 }
            case .f16:
                for bits in raw.bindMemory(to: UInt16.self) where bits & 0x7C00 == 0x7C00 { n += 1 }
            case .bf16:
                for bits in raw.bindMemory(to: UInt16.self) where bits & 0x7F80 == 0x7F80 { n += 1 }
            case .f64:
                for bits in raw.bindMemory(to: UInt64.self) where bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000
                { n += 1 }
            default:
                break
            }
            return n
        }
    }
}

extension Tensor {
    static func encode(_ values: [Float], as dtype: DType) throws -> [UInt8] {
        switch dtype {
        case .f32:
            return values.withUnsafeBytes { Array($0) }
        case .f64:
            return values.map(Double.init).withUnsafeBytes { Array($0) }
        case .bf16, .f16:
            var out = [UInt8](repeating: 0, count: values.count * 2)
            out.withUnsafeMutableBytes { raw in
                let dst = raw.bindMemory(to: UInt16.self)
                values.withUnsafeBufferPointer { src in
                    if dtype == .bf16 {
                        for i in 0..<src.count { dst[i] = FloatBits.bf16(fromF32: src[i].bitPattern) }
                    } else {
                        for i in 0..<src.count { dst[i] = FloatBits.f16(fromF32: src[i].bitPattern) }
                    }
                }
            }
            return out
        default:
            throw TensorError(.unsupportedDType, "cannot store floating-point values as \(dtype.rawValue)")
        }
    }

    static func decode(_ raw: UnsafeRawBufferPointer, dtype: DType, into dst: UnsafeMutableBufferPointer<Float>) throws
    {
        switch dtype {
        case .f32:
            UnsafeMutableRawBufferPointer(dst).copyMemory(from: raw)
        case .f64:
            for (i, v) in raw.bindMemory(to: Double.self).enumerated() { dst[i] = Float(v) }
        case .bf16:
            for (i, v) in raw.bindMemory(to: UInt16.self).enumerated() {
                dst[i] = Float(bitPattern: FloatBits.f32(fromBF16: v))
            }
        case .f16:
            for (i, v) in raw.bindMemory(to: UInt16.self).enumerated() {
                dst[i] = Float(bitPattern: FloatBits.f32(fromF16: v))
            }
        default:
            throw TensorError(
                .unsupportedDType, "dtype \(dtype.rawValue) is not a floating-point type adaptermerge computes with")
        }
    }
}
