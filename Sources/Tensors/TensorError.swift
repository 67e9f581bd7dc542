/// An error raised by tensor construction or conversion.
///
/// Modelled on swift-nio's extensible error structs: new cases can be added
/// without breaking callers that switch over ``Code``.
public struct TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as an open set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The byte count does not equal the element count times the dtype size.
        public static let sizeMismatch = Code("size mismatch")
        /// A shape has a negative dimension or its element count overflows.
        public static let invalidShape = Code("invalid shape")
        /// The operation needs a floating-point dtype it can convert.
        public static let unsupportedDType = Code("unsupported dtype")
        /// A LAPACK routine reported failure.
        public static let lapackFailure = Code("LAPACK failure")
        /// Matrix dimensions do not fit the operation.
        public static let dimensionMismatch = Code("dimension mismatch")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
