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

}

/// What every error adaptermerge throws tells: a code from an open set, a
/// one-line message in the library's own terms, and where (the file and the
/// place in it) when that is known.
///
/// The CLI catches this protocol once, prints ``description`` as its one line
/// on stderr and adds advice about its own flags (`--force`, …) by code, so no
/// library message has to name a flag.
public protocol AdapterMergeError: Error, Sendable, CustomStringConvertible {
    /// The code's name (`output exists`, `non-finite input`, …).
    var codeName: String { get }
    /// What is wrong, in one line, without the place.
    var message: String { get }
    /// The file (or directory) concerned.
    var path: String? { get }
    /// Where in it: a tensor or module name, a byte offset, a JSON key, `line 7`.
    var location: String? { get }
}

extension AdapterMergeError {
    public var path: String? { nil }
    public var location: String? { nil }

    /// `path: location: message`, leaving out what is not known.
    public var description: String {
        let place = [path, location].compactMap { $0 }.joined(separator: ": ")
        return place.isEmpty ? message : "\(place): \(message)"
    }
}

extension CodedError: AdapterMergeError {
    public var codeName: String { code.description }
}
