#if canImport(Glibc)
    import Glibc
#endif

/// Output helpers: stdout for results, stderr for diagnostics.
enum Terminal {
    /// Writes text unbuffered to stderr, or through `print` to stdout.
    static func write(_ text: String, toStandardError: Bool = false) {
        guard toStandardError else {
            print(text, terminator: "")
            return
        }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                Glibc.write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset)
            }
            if n <= 0 { return }
            offset += n
        }
    }

    /// One diagnostic line on stderr.
    static func error(_ message: String) {
        write("adaptermerge: error: \(message)\n", toStandardError: true)
    }

    static func warning(_ message: String) {
        write("adaptermerge: warning: \(message)\n", toStandardError: true)
    }
}
