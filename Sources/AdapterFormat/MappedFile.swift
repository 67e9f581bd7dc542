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
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError(.io, "cannot open: \(MappedFile.errnoText())", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FormatError(.io, "cannot stat: \(MappedFile.errnoText())", path: path) }
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

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// The byte count.
    public var count: Int { bytes.count }

    /// A copy of `range`, which the caller has validated.
    public func copy(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
