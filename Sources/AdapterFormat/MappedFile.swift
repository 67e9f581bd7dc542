#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only memory map of a whole file.
///
/// Readers take byte ranges out of it after validating them, so a large file
/// is never copied into memory whole; only the tensors asked for are.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from, for error messages.
    public let path: String
    /// The mapped bytes. Valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        ownsCopy = false
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError(.io, "cannot open: \(MappedFile.errnoText())", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw FormatError(.io, "cannot stat: \(MappedFile.errnoText())", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FormatError(.io, "not a regular file", path: path) }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw FormatError(.io, "cannot map: \(MappedFile.errnoText())", path: path)
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Whether `bytes` is a private copy rather than a mapping.
    private let ownsCopy: Bool

    /// Wraps a copy of in-memory bytes, so readers can parse data that never
    /// touched the disk (fuzzers, tests, network buffers).
    public init(bytes source: [UInt8], path: String = "<memory>") {
        self.path = path
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 64)
        source.withUnsafeBytes {
            if let base = $0.baseAddress { copy.baseAddress!.copyMemory(from: base, byteCount: $0.count) }
        }
        bytes = UnsafeRawBufferPointer(start: copy.baseAddress, count: source.count)
        ownsCopy = true
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if ownsCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    /// The byte count.
    public var count: Int { bytes.count }

    /// A copy of `range`, which the caller has validated.
    public func copy(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
