/// The domain of errors raised by tensor construction, conversion and LAPACK.
public enum TensorErrorDomain {}

/// An error raised by tensor construction or conversion.
public typealias TensorError = CodedError<TensorErrorDomain>

extension ErrorCode where Domain == TensorErrorDomain {
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
    /// A parameter is outside the range the operation accepts.
    public static let invalidParameter = Self("invalid parameter")
}
