#if canImport(Glibc)
    import Glibc
    import CSystem
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
            // The string is not freed: a handler running on another thread may still be
            // reading it (a few bytes per output written, once).
            slots[i] = nil
            return
        }
    }

    /// Installs the handlers once: remove every registered path, then die of the
    /// same signal with its default action (so the exit status says what happened).
    ///
    /// A signal that was ignored when the process started (SIGHUP under `nohup`,
    /// SIGINT for a `&` job) stays ignored.
    public static func removeOnSignals() {
        guard !installed else { return }
        installed = true
        // Everything the handler touches exists before it can run.
        _ = slots
        _ = isDirectory
        _ = direntBuffer
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var current = sigaction()
            guard sigaction(sig, nil, &current) == 0 else { continue }
            if let handler = current.__sigaction_handler.sa_handler, case let ignore = SIG_IGN,
                unsafeBitCast(handler, to: Int.self) == unsafeBitCast(ignore, to: Int.self)
            {
                continue
            }
            signal(sig) { sig in
                TemporaryFiles.removeAll()
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }

    /// Where the handler lists a directory, allocated before any signal.
    nonisolated(unsafe) private static let direntBuffer = UnsafeMutableRawPointer.allocate(
        byteCount: 8192, alignment: 8)

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

    /// Unlinks the entries of a (flat) directory with raw `getdents64` into the
    /// preallocated buffer: no allocation, so it is safe in a signal handler.
    private static func removeDirectoryContents(_ path: UnsafeMutablePointer<CChar>) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        guard fd >= 0 else { return }
        defer { close(fd) }
        while true {
            let n = adaptermerge_getdents64(fd, direntBuffer, 8192)
            if n <= 0 { return }
            var offset = 0
            while offset < n {
                // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, char name[].
                let entry = direntBuffer + offset
                let length = Int(entry.load(fromByteOffset: 16, as: UInt16.self))
                guard length > 0 else { return }
                let name = (entry + 19).assumingMemoryBound(to: CChar.self)
                if strcmp(name, ".") != 0 && strcmp(name, "..") != 0 { unlinkat(fd, name, 0) }
                offset += length
            }
        }
    }
}
