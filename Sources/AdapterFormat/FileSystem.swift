#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX helpers shared by the readers and writers.
public enum FileSystem {
    /// Whether anything (file, directory, link) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` is a regular file (following links).
    public static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Splits a path into its directory ("." when none) and last component.
    ///
    /// Works on bytes, as the kernel does: a "/" followed by a combining mark is
    /// one Character to Swift but still a separator in a path.
    public static func split(_ path: String) -> (directory: String, name: String) {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == 0x2F { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: 0x2F) else { return (".", String(decoding: bytes, as: UTF8.self)) }
        let dir = String(decoding: bytes[..<slash], as: UTF8.self)
        return (dir.isEmpty ? "/" : dir, String(decoding: bytes[(slash + 1)...], as: UTF8.self))
    }

    /// Joins path components with "/".
    public static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Makes a directory entry durable after a rename or link.
    public static func syncDirectory(of path: String) {
        let fd = open(split(path).directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Reads a whole (small) file, with a size cap.
    public static func readFile(_ path: String, limit: Int = 100 << 20) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        guard file.count <= limit else {
            throw FormatError(.malformed, "file is larger than the \(limit >> 20) MiB allowed", path: path)
        }
        return file.copy(0..<file.count)
    }

    /// Reads and parses a (small) JSON file; a parse error names the file and byte.
    public static func readJSON(_ path: String, limit: Int = 64 << 20) throws -> JSONValue {
        let bytes = try readFile(path, limit: limit)
        do {
            return try JSONValue(parsing: bytes)
        } catch let e as JSONParseError {
            throw FormatError(.malformed, "not valid JSON: \(e.message)", path: path, location: "byte \(e.offset)")
        }
    }

    /// Creates a fresh temporary directory next to `path`.
    public static func makeTemporaryDirectory(near path: String) throws -> String {
        let (dir, name) = split(path)
        var template = Array("\(dir)/.\(name).tmp-XXXXXX".utf8CString)
        let ok = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard ok else {
            throw FormatError(.io, "cannot create a temporary directory: \(MappedFile.errnoText())", path: path)
        }
        let created = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // mkdtemp makes it private; the directory it becomes is an ordinary one.
        _ = chmod(created, 0o755)
        return created
    }

    /// Creates a directory (its parent must exist).
    public static func createDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || (errno == EEXIST && isDirectory(path)) else {
            throw FormatError(.io, "cannot create the directory: \(MappedFile.errnoText())", path: path)
        }
    }

    /// Removes a directory and the plain files directly inside it.
    public static func removeShallowDirectory(_ path: String) {
        guard let dir = opendir(path) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            unlink(join(path, name))
        }
        closedir(dir)
        rmdir(path)
    }
}
