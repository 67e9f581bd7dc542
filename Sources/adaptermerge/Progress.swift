#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// A one-line progress bar with throughput on stderr, drawn only when stderr
/// is a terminal, so logs and CI output stay clean.
///
/// Advanced from one thread at a time: workers report through the library's
/// `ProgressCounter`, which serializes them, so the bar needs no lock.
final class Progress: @unchecked Sendable {
    private let total: Int
    private let label: String
    private var done = 0
    private let start = Date()
    private let enabled = isatty(STDERR_FILENO) != 0

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    func advance(_ n: Int) {
        done += n
        guard enabled else { return }
        let fraction = Double(done) / Double(total)
        let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
        Terminal.write(
            "\r\(label) " + Format.pad(Format.bar(fraction, width: 30), 30)
                + " \(done)/\(total)  \(Format.fixed(rate, 1))/s",
            toStandardError: true)
    }

    func finish() {
        if enabled { Terminal.write("\r\u{1B}[2K", toStandardError: true) }
    }
}
