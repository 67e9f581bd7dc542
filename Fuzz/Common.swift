// Shared by every fuzz target (compiled into each binary by Fuzz/run.sh).

import AdapterFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

enum FuzzLog {
    static func flag(_ name: String) -> Bool {
        guard let v = getenv(name) else { return false }
        return String(cString: v) == "1"
    }

    /// FUZZ_PRINT_ERRORS=1 prints every rejection (type and message), to check
    /// by eye that each one is a single clear line naming what and where.
    static let enabled = flag("FUZZ_PRINT_ERRORS")

    /// FUZZ_STRICT_ERRORS=1 makes any rejection that is not a FormatError (which
    /// names the file and the place) or a JSONParseError (which names the byte
    /// offset) a crash, so the fuzzer hunts for errors that reach the user
    /// without saying where. Off by default: such errors are not crashes.
    /// A target passes `located: true` for an error its caller is known to
    /// wrap with the file's name (e.g. a TokenizerError from
    /// Tokenizer(json:config:), which Tokenizer(directory:) turns into a
    /// FormatError naming tokenizer.json).
    static let strict = flag("FUZZ_STRICT_ERRORS")

    static func error(_ error: any Error, located: Bool = false) {
        if enabled { print("[\(type(of: error))] \(error)") }
        if strict && !located && !(error is FormatError) && !(error is JSONParseError) {
            fatalError("FUZZ_STRICT_ERRORS: a reader threw \(type(of: error)) without a location: \(error)")
        }
    }
}

/// The CLI prints an error as one line on stderr: a target that checks this crashes on one that is not.
func oneLine(_ error: any Error) {
    if "\(error)".contains(where: \.isNewline) { fatalError("an error of more than one line: \(error)") }
}
