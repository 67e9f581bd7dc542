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
