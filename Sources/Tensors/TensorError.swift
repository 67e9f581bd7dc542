/// An error raised by tensor construction or conversion.
///
/// Modelled on swift-nio's extensible error structs: new cases can be added
/// without breaking callers that switch over ``Code``.
public struct TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as an open set of codes.
    public typealias Code = ErrorCode<TensorError>

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension ErrorCode where Domain == TensorError {
    /// The byte count does not equal the element count times the dtype size.
    public static let sizeMismatch = Self("size mismatch")
    /// A shape has a negative dimension or its element count overflows.
    public static let invalidShape = Self("invalid shape")
    /// The operation needs a floating-point dtype it can convert.
    public static let unsupportedDType = Self("unsupported dtype")
    /// A LAPACK routine reported failure.
    public static let lapackFailure = Self("LAPACK failure")
    /// Matrix dimensions do not fit the operation.
    public static let dimensionMismatch = Self("dimension mismatch")
}
