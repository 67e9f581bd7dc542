/// Strict, typed access to the fields of one JSON object, for every JSON
/// input the tool reads (recipes, configs, metadata, data rows).
///
/// A field of the wrong type is an error naming the file and the key, never
/// a silent default: `"use_rslora": "yes"` must not read as `false`. In the
/// optional accessors a missing key and `null` both mean "absent", as they do
/// for transformers and PEFT. Formats that adaptermerge owns also refuse
/// unknown keys (``rejectUnknownKeys(_:)``), so a typo such as `"weigth"`
/// cannot leave a default in place.
public struct JSONFields: Sendable {
    /// The object's pairs, in file order.
    public let pairs: [(key: String, value: JSONValue)]
    /// The file the object came from.
    public let path: String
    /// Where the object sits in the file (`""` for the top level, `inputs[2]`, `line 7`).
    public let location: String

    /// Wraps `value`, which must be an object; `what` names it in the error otherwise.
    public init(_ value: JSONValue, path: String, location: String = "", what: String = "the document") throws {
        guard case .object(let pairs) = value else {
            throw FormatError(
                .malformed, "\(what) must be a JSON object", path: path, location: location.isEmpty ? nil : location)
        }
        self.pairs = pairs
        self.path = path
        self.location = location
    }

    /// The location of `key` inside this object.
    public func place(_ key: String) -> String {
        // An empty key is shown quoted, so the place is never blank.
        let key = key.isEmpty ? "\"\"" : key
        if location.isEmpty { return key }
        return location.hasPrefix("line ") ? "\(location): \(key)" : "\(location).\(key)"
    }

    /// An error about `key`.
    public func error(_ key: String, _ message: String, code: FormatError.Code = .malformed) -> FormatError {
        FormatError(code, message, path: path, location: place(key))
    }

    /// The raw value of `key`; `nil` when it is missing or `null`.
    public subscript(key: String) -> JSONValue? {
        guard let value = pairs.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    /// Refuses any key outside `known`, naming the first one and what was expected.
    public func rejectUnknownKeys(_ known: Set<String>) throws {
        if let unknown = pairs.first(where: { !known.contains($0.key) }) {
            throw error(unknown.key, "unknown key (expected one of \(known.sorted().joined(separator: ", ")))")
        }
    }

    public func string(_ key: String) throws -> String? {
        guard let v = self[key] else { return nil }
        guard let s = v.stringValue else { throw error(key, "must be a string, not \(Self.describe(v))") }
        return s
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = self[key] else { return nil }
        guard let b = v.boolValue else { throw error(key, "must be true or false, not \(Self.describe(v))") }
        return b
    }

    /// An integer; `range` bounds it when given.
    public func int(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let v = self[key] else { return nil }
        guard let n = v.intValue else { throw error(key, "must be an integer, not \(Self.describe(v))") }
        if let range, !range.contains(n) { throw error(key, "\(n) is outside \(Self.describe(range))") }
        return n
    }

    /// A finite number; `range` bounds it when given.
    public func double(_ key: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.doubleValue, d.isFinite else {
            throw error(key, "must be a finite number, not \(Self.describe(v))")
        }
        if let range, !range.contains(d) {
            throw error(key, "\(d) is outside [\(range.lowerBound), \(range.upperBound)]")
        }
        return d
    }

    /// A finite number that must be greater than zero.
    public func positiveDouble(_ key: String) throws -> Double? {
        guard let d = try double(key) else { return nil }
        guard d > 0 else { throw error(key, "must be greater than 0, not \(d)") }
        return d
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let v = self[key] else { return nil }
        guard let items = v.arrayValue else { throw error(key, "must be a list of strings, not \(Self.describe(v))") }
        return try items.enumerated().map { i, item in
            guard let s = item.stringValue else {
                throw error("\(key)[\(i)]", "must be a string, not \(Self.describe(item))")
            }
            return s
        }
    }

    /// A nested object, strict in turn.
    public func object(_ key: String) throws -> JSONFields? {
        guard let v = self[key] else { return nil }
        return try JSONFields(v, path: path, location: place(key), what: "\"\(key)\"")
    }

    /// A short name of a value's type, for messages.
    public static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int, .double: return "the number \(value.compactText)"
        case .string(let s): return s.count <= 20 ? "the string \(value.compactText)" : "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == .max
            ? "the allowed range (at least \(range.lowerBound))" : "\(range.lowerBound)...\(range.upperBound)"
    }
}
