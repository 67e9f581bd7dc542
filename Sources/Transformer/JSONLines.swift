import AdapterFormat

/// One row of a JSON-lines data file, with where it came from.
public struct DataRow: Sendable {
    public let file: String
    public let line: Int
    public let fields: JSONValue

    public init(file: String, line: Int, fields: JSONValue) {
        self.file = file
        self.line = line
        self.fields = fields
    }

    /// A string field, or an error naming the file and line.
    public func string(_ key: String) throws -> String {
        guard let v = fields[key] else {
            throw FormatError(.malformed, "row lacks \"\(key)\"", path: file, location: "line \(line)")
        }
        guard let s = v.stringValue else {
            throw FormatError(.malformed, "\"\(key)\" is not a string", path: file, location: "line \(line)")
        }
        return s
    }

    /// An optional string field.
    public func optionalString(_ key: String) -> String? { fields[key]?.stringValue }
}

/// Reads JSON-lines files (one object per line; blank lines skipped).
public enum JSONLines {
    public static func read(_ path: String) throws -> [DataRow] {
        let bytes = try FileSystem.readFile(path, limit: 4 << 30)
        var rows: [DataRow] = []
        var line = 0
        var start = 0
        func emit(_ end: Int) throws {
            line += 1
            var slice = bytes[start..<end]
            if slice.last == 0x0D { slice = slice.dropLast() }
            guard slice.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
            let value: JSONValue
            do {
                value = try JSONValue(parsing: slice)
            } catch let e as JSONParseError {
                throw FormatError(.malformed, "not valid JSON: \(e.message)", path: path, location: "line \(line)")
            }
            guard case .object = value else { throw FormatError(.malformed, "a row must be a JSON object", path: path, location: "line \(line)") }
            rows.append(DataRow(file: path, line: line, fields: value))
        }
        for (i, b) in bytes.enumerated() where b == 0x0A {
            try emit(i)
            start = i + 1
        }
        if start < bytes.count { try emit(bytes.count) }
        guard !rows.isEmpty else { throw FormatError(.malformed, "the data file has no rows", path: path) }
        return rows
    }
}
