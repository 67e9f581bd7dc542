import Foundation

/// A raw pointer handed to worker threads that touch disjoint parts of what it
/// points at (parts of a batch, rows of a result). The one such box in the
/// package: the forward pass, the trainers and the held-out check share it.
package struct SharedPointer<T>: @unchecked Sendable {
    package let p: UnsafeMutablePointer<T>
    package init(_ pointer: UnsafeMutablePointer<T>) { p = pointer }
    package init(_ buffer: UnsafeMutableBufferPointer<T>) { p = buffer.baseAddress! }
    package init(_ buffer: UnsafeBufferPointer<T>) { p = UnsafeMutablePointer(mutating: buffer.baseAddress!) }
}

/// Reports finished items from several workers, one report at a time, so the
/// receiver (a progress bar) needs no lock of its own.
package final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private let report: (@Sendable (Int) -> Void)?
    package init(_ report: (@Sendable (Int) -> Void)?) { self.report = report }
    package func add(_ n: Int) {
        lock.lock()
        report?(n)
        lock.unlock()
    }
}

extension BLAS {
    /// Runs `body` with OpenBLAS limited to `n` threads, then restores the
    /// previous count: work split across cores by the caller runs each part
    /// with single-threaded BLAS, so the two kinds of parallelism do not contend.
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let saved = threadCount
        setThreadCount(n)
        defer { setThreadCount(saved) }
        return try body()
    }
}
