/// Typed, strict access to the metadata: each getter returns nil when the key is absent and
/// throws ``FormatError/Code/malformed`` naming the file and the key when its value has another
/// type (never a silent default), as ``JSONFields`` does for JSON.
extension GGUFFile {
    /// An error about metadata `key`.
    func metadataError(_ key: String, _ message: String) -> FormatError {
        FormatError(.malformed, message, path: path, location: Self.place(key))
    }

    /// How a value is named in a type error: `u32`, or `array of i32`.
    private static func describe(_ value: GGUFValue) -> String {
        guard case .array(let items) = value else { return value.typeName }
        return items.first.map { "array of \($0.typeName)" } ?? "empty array"
    }

    /// A `str` value.
    public func string(_ key: String) throws -> String? {
        guard let value = metadata[key] else { return nil }
        guard case .string(let s) = value else {
            throw metadataError(key, "must be a string, not \(Self.describe(value))")
        }
        return s
    }

    /// A value of any integer type (u8 … i64), which must fit in `Int`.
    public func integer(_ key: String) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        return try integer(value, key)
    }

    private func integer(_ value: GGUFValue, _ place: @autoclosure () -> String) throws -> Int {
        guard value.isInteger else {
            throw metadataError(place(), "must be an integer, not \(Self.describe(value))")
        }
        guard let n = value.integerValue else {
            throw metadataError(place(), "\(value.typeName) value does not fit in a 64-bit signed integer")
        }
        return n
    }

    /// An `f32` or `f64` value, or an integer that a `Double` holds exactly.
    public func float(_ key: String) throws -> Double? {
        guard let value = metadata[key] else { return nil }
        return try double(value, key)
    }

    private func double(_ value: GGUFValue, _ place: @autoclosure () -> String) throws -> Double {
        switch value {
        case .float32, .float64: return value.doubleValue!
        case _ where value.isInteger:
            guard let d = value.doubleValue else {
                throw metadataError(place(), "integer value is too large to be held exactly as a number")
            }
            return d
        default: throw metadataError(place(), "must be a number, not \(Self.describe(value))")
        }
    }

    /// A `bool` value.
    public func bool(_ key: String) throws -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard case .bool(let b) = value else {
            throw metadataError(key, "must be true or false, not \(Self.describe(value))")
        }
        return b
    }

    /// The items of an array value; nil when the key is absent.
    private func items(_ key: String, _ what: String) throws -> [GGUFValue]? {
        guard let value = metadata[key] else { return nil }
        guard case .array(let items) = value else {
            throw metadataError(key, "must be an array of \(what), not \(Self.describe(value))")
        }
        return items
    }

    /// An array of `str`.
    public func strings(_ key: String) throws -> [String]? {
        try items(key, "strings")?.map { item in
            guard case .string(let s) = item else {
                throw metadataError(key, "must be an array of strings, not an array of \(item.typeName)")
            }
            return s
        }
    }

    /// An array of any integer type, each element fitting in `Int`.
    public func integers(_ key: String) throws -> [Int]? {
        try items(key, "integers")?.enumerated().map { i, item in
            guard item.isInteger else {
                throw metadataError(key, "must be an array of integers, not an array of \(item.typeName)")
            }
            return try integer(item, "\(Self.place(key))[\(i)]")
        }
    }

    /// An array of `f32` (exact), `f64` (rounded to `Float`) or integers (rounded to `Float`).
    public func floats(_ key: String) throws -> [Float]? {
        try items(key, "numbers")?.enumerated().map { i, item in
            switch item {
            case .float32(let f): return f
            case .float64(let d): return Float(d)
            default: break
            }
            guard item.isInteger else {
                throw metadataError(key, "must be an array of numbers, not an array of \(item.typeName)")
            }
            return Float(try double(item, "\(Self.place(key))[\(i)]"))
        }
    }
}
