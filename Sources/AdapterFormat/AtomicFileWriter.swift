#if canImport(Glibc)
    import Glibc
    import CSystem
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new
/// one, never a partial file.
///
/// Bytes go to a hidden temporary file in the destination's directory; on
/// ``commit()`` it is fsynced and moved into place. Without `overwrite`, the
/// move uses `link(2)`, which fails if the destination appeared meanwhile,
/// so a user's file is never replaced. If the writer is dropped uncommitted,
/// the temporary file is removed.
public final class AtomicFileWriter {
    public let destination: String
    public let overwrite: Bool
    private let temporary: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    private static let bufferLimit = 1 << 20

    public init(destination: String, overwrite: Bool) throws {
        self.destination = destination
        self.overwrite = overwrite
        try FileSystem.checkOutput(destination, kind: .file, overwrite: overwrite)
        let (dir, name) = FileSystem.split(destination)
        var template = Array("\(dir)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FormatError(.io, "cannot create a temporary file: \(MappedFile.errnoText())", path: destination)
        }
        self.fd = fd
        self.temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        TemporaryFiles.register(temporary)
        fchmod(fd, 0o644)
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporary)
            TemporaryFiles.unregister(temporary)
        }
    }

    /// Appends bytes.
    public func write(_ data: UnsafeRawBufferPointer) throws {
        if buffer.count + data.count > AtomicFileWriter.bufferLimit { try flush() }
        if data.count >= AtomicFileWriter.bufferLimit {
            try writeAll(data)
        } else {
            buffer.append(contentsOf: data)
        }
        bytesWritten += data.count
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Appends the first `length` bytes of the file open as `source`.
    ///
    /// The copy stays in the kernel (`copy_file_range`, a reflink on file
    /// systems that share extents), falling back to `pread`/`write` where the
    /// call is not supported, e.g. across file systems on older kernels.
    public func append(contentsOf source: Int32, length: Int) throws {
        try flush()
        var offset = 0
        while offset < length {
            var from = off_t(offset)
            let n = copy_file_range(source, &from, fd, nil, length - offset, 0)
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(errno) { break }
            throw FormatError(
                .io, "copying into the output failed: \(n == 0 ? "source ended early" : MappedFile.errnoText())",
                path: destination)
        }
        var chunk = [UInt8](repeating: 0, count: AtomicFileWriter.bufferLimit)
        while offset < length {
            let n = chunk.withUnsafeMutableBytes {
                pread(source, $0.baseAddress, Swift.min($0.count, length - offset), off_t(offset))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw FormatError(.io, "reading the spool failed: \(MappedFile.errnoText())", path: destination)
            }
            try chunk.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
        bytesWritten += length
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ data: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < data.count {
            let n = Glibc.write(fd, data.baseAddress! + offset, data.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(.io, "write failed: \(MappedFile.errnoText())", path: destination)
            }
            offset += n
        }
    }

    /// Writes a whole file in one go: `bytes`, fsynced and moved into place.
    public static func write(_ bytes: [UInt8], to destination: String, overwrite: Bool) throws {
        let out = try AtomicFileWriter(destination: destination, overwrite: overwrite)
        try out.write(bytes)
        try out.commit()
    }

    /// Writes a whole text file in one go (UTF-8).
    public static func write(_ text: String, to destination: String, overwrite: Bool) throws {
        try write(Array(text.utf8), to: destination, overwrite: overwrite)
    }

    /// Flushes, fsyncs and moves the file into place.
    public func commit() throws {
        try flush()
        guard fsync(fd) == 0 else {
            throw FormatError(.io, "fsync failed: \(MappedFile.errnoText())", path: destination)
        }
        close(fd)
        fd = -1
        if overwrite {
            guard rename(temporary, destination) == 0 else {
                throw FormatError(.io, "cannot move into place: \(MappedFile.errnoText())", path: destination)
            }
        } else {
            guard link(temporary, destination) == 0 else {
                let reason = errno == EEXIST ? "already exists" : MappedFile.errnoText()
                throw FormatError(errno == EEXIST ? .outputExists : .io, reason, path: destination)
            }
            unlink(temporary)
        }
        committed = true
        TemporaryFiles.unregister(temporary)
        FileSystem.syncDirectory(of: destination)
    }
}
