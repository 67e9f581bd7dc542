/// One row of a JSON-lines data file, with where it came from.
public struct DataRow: Sendable {
    public let file: String
    public let line: Int
    public let fields: JSONValue

    /// Fields that are text wherever the tool reads them; a row giving one of
    /// them another type is refused when read, so no reader mistakes it for absent.
    public static let textFields: Set<String> = [
        "prefix", "text", "lang", "utterance", "text_parallel_0", "text_parallel_1",
    ]

    public init(file: String, line: Int, fields: JSONValue) {
        self.file = file
        self.line = line
        self.fields = fields
    }

    /// A string field, or an error naming the file and line.
    public func string(_ key: String) throws -> String {
        guard let v = fields[key], !v.isNull else {
            throw FormatError(.malformed, "row lacks \"\(key)\"", path: file, location: "line \(line)")
        }
        guard let s = v.stringValue else {
            throw FormatError(.malformed, "\"\(key)\" is not a string", path: file, location: "line \(line)")
        }
        return s
    }

    /// An optional string field (the text fields' types are checked when the row is read).
    public func optionalString(_ key: String) -> String? { fields[key]?.stringValue }

    /// Refuses a row whose ``textFields`` hold anything but a string (or null).
    public func checkTextFields() throws {
        let row = try JSONFields(fields, path: file, location: "line \(line)", what: "a row")
        for key in DataRow.textFields.sorted() { _ = try row.string(key) }
    }
}

/// Reads JSON-lines files (one object per line; blank lines skipped).
public enum JSONLines {
    /// The largest data file read (4 GiB).
    public static let maximumFileSize = 4 << 30

    /// The rows of the file at `path`. With `checkingTypes` (the default) a row whose
    /// text fields are not strings stops the read (``DataRow/checkTextFields()``);
    /// a reader that skips bad rows checks each row itself instead.
    public static func read(_ path: String, checkingTypes: Bool = true) throws -> [DataRow] {
        try parse(try FileSystem.readFile(path, limit: maximumFileSize), path: path, checkingTypes: checkingTypes)
    }

    /// Rows of a JSON-lines document; `path` names it in errors.
    public static func parse(_ bytes: [UInt8], path: String, checkingTypes: Bool = true) throws -> [DataRow] {
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
            guard case .object = value else {
                throw FormatError(.malformed, "a row must be a JSON object", path: path, location: "line \(line)")
            }
            let row = DataRow(file: path, line: line, fields: value)
            if checkingTypes { try row.checkTextFields() }
            rows.append(row)
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
