/// An open set of error codes for one error type, in the style of swift-nio:
/// codes are static members, so new ones never break a caller's `switch`.
///
/// `Domain` ties a code to its error type (`ErrorCode<TensorError>`), so codes
/// of different errors cannot be compared by mistake.
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
    private let name: String

    /// A code named for messages and logs.
    public init(_ name: String) { self.name = name }

    public var description: String { name }
}

/// An error with a code from an open set and a one-line message: the shape
/// of every error adaptermerge throws that is not about a particular file.
public struct CodedError<Domain>: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode<Domain>
    public let message: String

    public init(_ code: ErrorCode<Domain>, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
