/// A GNU gettext message catalog (`.mo`), read strictly.
///
/// The format: a magic number that also gives the byte order (0x950412de),
/// a revision (major 0 or 1), the string count N, the offsets of the
/// original and the translation tables (N pairs of length and offset each),
/// and a hash table this reader does not need. Strings are NUL-terminated,
/// and the length excludes the NUL. A msgid holds `context \u{04} id` when it
/// has a context and `singular \0 plural` when it has plural forms; the
/// translation then holds the forms separated by NULs. Entry "" is the
/// header (`Content-Type: …; charset=…`). Every offset and length is checked
/// against the file before it is read.
public struct MOFile: Sendable {
    /// One message as the file stores it.
    public struct Message: Sendable, Equatable {
        /// The msgid, with `context \u{04}` in front and `\0 plural` behind where present.
        public let original: String
        public let translation: String

        /// The context (msgctxt), if any.
        public var context: String? {
            original.firstIndex(of: "\u{04}").map { String(original[..<$0]) }
        }

        /// Whether the message has plural forms.
        public var hasPlural: Bool { original.contains("\0") }
    }

    public let path: String
    /// Messages in file order, the header (empty msgid) excluded.
    public let messages: [Message]
    /// The header's `charset`.
    public let charset: String?

    public init(path: String) throws {
        try self.init(bytes: try FileSystem.readFile(path, limit: 256 << 20), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        func bad(_ message: String, _ location: String? = nil) -> FormatError {
            FormatError(.malformed, message, path: path, location: location)
        }
        guard bytes.count >= 28 else { throw bad("file is \(bytes.count) bytes, too short for a .mo header") }
        let little: Bool
        switch (bytes[0], bytes[1], bytes[2], bytes[3]) {
        case (0xDE, 0x12, 0x04, 0x95): little = true
        case (0x95, 0x04, 0x12, 0xDE): little = false
        default: throw FormatError(.notRecognized, "not a .mo file (magic 0x950412de)", path: path)
        }
        func word(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= bytes.count else { throw bad("reads past the end of the file", "byte \(at)") }
            let (b0, b1, b2, b3) = (
                UInt32(bytes[at]), UInt32(bytes[at + 1]), UInt32(bytes[at + 2]), UInt32(bytes[at + 3])
            )
            return Int(little ? b0 | b1 << 8 | b2 << 16 | b3 << 24 : b3 | b2 << 8 | b1 << 16 | b0 << 24)
        }
        let revision = try word(4)
        guard revision >> 16 <= 1 else {
            throw bad("revision \(revision >> 16).\(revision & 0xFFFF) is not supported", "byte 4")
        }
        let count = try word(8)
        let originals = try word(12)
        let translations = try word(16)
        guard count <= (bytes.count - 28) / 16 else { throw bad("\(count) strings cannot fit in the file", "byte 8") }
        func string(_ table: Int, _ index: Int) throws -> String {
            let length = try word(table + 8 * index)
            let offset = try word(table + 8 * index + 4)
            guard offset + length < bytes.count, bytes[offset + length] == 0 else {
                throw bad(
                    "string \(index) (\(length) bytes at \(offset)) lies outside the file or lacks its NUL",
                    "string \(index)")
            }
            guard let s = String(validating: bytes[offset..<(offset + length)], as: UTF8.self) else {
                throw FormatError(.unsupported, "string \(index) is not UTF-8", path: path, location: "string \(index)")
            }
            return s
        }
        var messages: [Message] = []
        var charset: String?
        messages.reserveCapacity(count)
        for i in 0..<count {
            let original = try string(originals, i)
            let translation = try string(translations, i)
            if original.isEmpty {
                for line in translation.split(separator: "\n") where line.lowercased().hasPrefix("content-type:") {
                    if let range = line.range(of: "charset=") {
                        charset = String(line[range.upperBound...]).trimmingCharacters(in: [" ", ";"])
                    }
                }
                continue
            }
            messages.append(Message(original: original, translation: translation))
        }
        self.messages = messages
        self.charset = charset
    }
}
