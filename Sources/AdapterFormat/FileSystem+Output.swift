#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension FileSystem {
    /// What a command writes at an output path.
    public enum OutputKind: Sendable, Equatable {
        /// One file, written atomically.
        case file
        /// A directory assembled beside the destination and swapped into place.
        /// An existing directory is replaced only when it is empty or holds
        /// `marker` (the file that says it is this kind of output) and no
        /// subdirectory, so `--force` can never wipe an unrelated folder.
        case directory(marker: String)
    }

    /// Checks an output path before any work, so a long run never ends in a
    /// write that was bound to fail: the path is not empty, its directory
    /// exists and is writable, and what is there may be replaced.
    public static func checkOutput(_ path: String, kind: OutputKind, overwrite: Bool) throws {
        guard !path.isEmpty else { throw FormatError(.io, "the output path is empty") }
        let parent = split(path).directory
        guard isDirectory(parent) else {
            throw FormatError(.io, "the output's directory \(parent) does not exist", path: path)
        }
        guard access(parent, W_OK | X_OK) == 0 else {
            throw FormatError(
                .io, "cannot write in the output's directory \(parent): \(MappedFile.errnoText())", path: path)
        }
        guard exists(path) else { return }
        if !overwrite { throw FormatError(.outputExists, "already exists", path: path) }
        switch kind {
        case .file:
            if isDirectory(path) {
                throw FormatError(.outputInTheWay, "is a directory, but a file is to be written here", path: path)
            }
        case .directory(let marker):
            var info = stat()
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
                // Swapping a link would empty the directory it points to, not replace it.
                throw FormatError(
                    .outputInTheWay, "is a symbolic link; not replaced (name the directory itself)", path: path)
            }
            guard isDirectory(path) else {
                throw FormatError(.outputInTheWay, "exists and is not a directory", path: path)
            }
            let entries = try directoryEntries(path)
            guard entries.isEmpty || entries.contains(marker) else {
                throw FormatError(
                    .outputInTheWay, "is a directory without \(marker); not replaced, to keep what it holds", path: path
                )
            }
            if let sub = entries.first(where: { isDirectory(join(path, $0)) }) {
                throw FormatError(
                    .outputInTheWay, "holds a subdirectory (\(sub)); not replaced, to keep what it holds", path: path)
            }
        }
    }

    /// The names in a directory, without "." and "..".
    public static func directoryEntries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw FormatError(.io, "cannot list: \(MappedFile.errnoText())", path: path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
