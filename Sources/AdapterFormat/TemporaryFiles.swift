#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The temporary files and directories that writers have open, removed when
/// the process is interrupted (SIGINT, SIGTERM, SIGHUP), so an interrupted
/// write leaves neither a partial destination nor a full-size hidden file.
///
/// Paths are kept as C strings in a fixed table, so the signal handler only
/// reads memory and calls `unlink`/`rmdir` (async-signal-safe). Writers
/// ``register(_:directory:)`` a path when they create it and ``unregister(_:)``
/// it once it is moved into place or removed.
public enum TemporaryFiles {
    private static let capacity = 256
    /// Each slot: a strdup'ed path or nil; the top bit of `kinds` marks a directory.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    nonisolated(unsafe) private static let isDirectory: UnsafeMutablePointer<Bool> = {
        let p = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
        p.initialize(repeating: false, count: capacity)
        return p
    }()
    nonisolated(unsafe) private static var lock = pthread_mutex_t()
    nonisolated(unsafe) private static var installed = false

    /// Records a temporary path (a directory's files are removed with it).
    public static func register(_ path: String, directory: Bool = false) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for i in 0..<capacity where slots[i] == nil {
            isDirectory[i] = directory
            slots[i] = strdup(path)
            return
        }
        // A full table only means this path is not cleaned up on a signal.
    }

    /// Forgets a path (moved into place, or already removed).
    public static func unregister(_ path: String) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for i in 0..<capacity {
            guard let p = slots[i], strcmp(p, path) == 0 else { continue }
            slots[i] = nil
            free(p)
            return
        }
    }

    /// Installs the handlers once: remove every registered path, then die of the
    /// same signal with its default action (so the exit status says what happened).
    public static func removeOnSignals() {
        guard !installed else { return }
        installed = true
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { sig in
                TemporaryFiles.removeAll()
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }

    /// Removes every registered path; called from the signal handler.
    private static func removeAll() {
        for i in 0..<capacity {
            guard let p = slots[i] else { continue }
            if isDirectory[i] {
                removeDirectoryContents(p)
                rmdir(p)
            } else {
                unlink(p)
            }
        }
    }

    /// Unlinks the entries of a (flat) directory, with only stack memory.
    private static func removeDirectoryContents(_ path: UnsafeMutablePointer<CChar>) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard let dir = fdopendir(dup(fd)) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { name in
                    if strcmp(name, ".") != 0 && strcmp(name, "..") != 0 {
                        // Temporary files of the writers inside it first, then the entries.
                        unlinkat(fd, name, 0)
                    }
                }
            }
        }
    }
}
