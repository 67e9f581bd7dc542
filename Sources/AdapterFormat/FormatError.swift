import Tensors

/// An error about a file adaptermerge reads or writes: what is wrong, in
/// which file, and where in it.
///
/// The CLI prints ``description`` as its one line on stderr. Codes form an
/// open set (swift-nio style), so new ones do not break callers.
public struct FormatError: AdapterMergeError {
    public typealias Code = ErrorCode<FormatError>

    public let code: Code
    public let message: String
    /// The file (or directory) concerned.
    public let path: String?
    /// Where in the file: a tensor name, a byte offset, a JSON key.
    public let location: String?

    public init(_ code: Code, _ message: String, path: String? = nil, location: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.location = location
    }

    /// The same error attributed to `path`, unless it already names one.
    public func inFile(_ path: String) -> FormatError {
        self.path == nil ? FormatError(code, message, path: path, location: location) : self
    }

    public var codeName: String { code.description }
}

extension ErrorCode where Domain == FormatError {
    /// The file cannot be opened, read or written.
    public static let io = Self("I/O error")
    /// The file is not of the expected kind (wrong magic, not a directory, ...).
    public static let notRecognized = Self("not recognized")
    /// Structure broken: truncated, bad offsets, bad header.
    public static let malformed = Self("malformed")
    /// Stored bytes do not match their checksum.
    public static let checksumMismatch = Self("checksum mismatch")
    /// A feature adaptermerge deliberately does not handle.
    public static let unsupported = Self("unsupported")
    /// An output already exists and replacing it was not asked for.
    public static let outputExists = Self("output exists")
    /// Something at an output path that no writer replaces (a directory where a
    /// file goes, an unrelated directory), asked for or not.
    public static let outputInTheWay = Self("output in the way")
    /// Values that are valid in form but not acceptable (NaN, mismatched shapes, ...).
    public static let invalidContent = Self("invalid content")
}
