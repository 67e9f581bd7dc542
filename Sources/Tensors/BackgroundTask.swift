import Dispatch

/// One piece of work started on a global queue, whose result is collected later.
///
/// The adapter pipelines use it as one-slot look-ahead: the merger reads and
/// decodes module i + 1 while module i is merged, and the writer encodes
/// module i while module i + 1 is made. Memory then holds at most a couple of
/// modules, and the output order never changes.
public final class BackgroundTask<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written once by the worker before `done` is signalled, read after the wait.
    private var result: Result<Value, any Error>?

    /// Starts `work` at once on a global queue.
    public init(_ work: @escaping @Sendable () throws -> Value) {
        DispatchQueue.global(qos: .userInitiated).async {
            self.result = Result { try work() }
            self.done.signal()
        }
    }

    /// Waits for the work and returns its value, or throws its error.
    public func value() throws -> Value {
        done.wait()
        done.signal()  // later calls return at once
        guard let result else { preconditionFailure("BackgroundTask finished without a result") }
        return try result.get()
    }
}
