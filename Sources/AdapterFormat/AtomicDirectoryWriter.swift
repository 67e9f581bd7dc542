#if canImport(Glibc)
    import Glibc
    import CSystem
#elseif canImport(Musl)
    import Musl
#endif

/// Writes a directory of files so that readers see the old directory or the
/// complete new one, never a mix.
///
/// Files go into a hidden staging directory beside the destination
/// (``path(_:)``). ``commit()`` moves it into place: a new destination by
/// `rename`, an existing one (with `overwrite`) by swapping the two in one
/// `renameat2(RENAME_EXCHANGE)` and then removing the old files, so stale
/// files never survive. Dropped uncommitted, or on SIGINT/SIGTERM, the staging
/// directory is removed.
public final class AtomicDirectoryWriter {
    public let destination: String
    public let overwrite: Bool
    /// The hidden directory the files are written into.
    public let staging: String
    private var committed = false

    /// Checks the destination (``FileSystem/checkOutput(_:kind:overwrite:)``) and creates the staging directory.
    public init(destination: String, overwrite: Bool, marker: String) throws {
        try FileSystem.checkOutput(destination, kind: .directory(marker: marker), overwrite: overwrite)
        self.destination = destination
        self.overwrite = overwrite
        staging = try FileSystem.makeTemporaryDirectory(near: destination)
        TemporaryFiles.register(staging, directory: true)
    }

    deinit {
        if !committed {
            FileSystem.removeShallowDirectory(staging)
            TemporaryFiles.unregister(staging)
        }
    }

    /// Where to write the file `name` of the new directory.
    public func path(_ name: String) -> String { FileSystem.join(staging, name) }

    /// Moves the finished directory into place.
    public func commit() throws {
        if FileSystem.exists(destination) {
            guard overwrite else { throw FormatError(.outputExists, "already exists", path: destination) }
            if renameat2(AT_FDCWD, staging, AT_FDCWD, destination, UInt32(ADAPTERMERGE_RENAME_EXCHANGE)) != 0 {
                // No exchange on this file system: move the old one aside first, with the
                // catchable signals held off so no interruption falls between the two renames.
                let aside = try FileSystem.makeTemporaryDirectory(near: destination)
                rmdir(aside)
                var all = sigset_t()
                var previous = sigset_t()
                sigfillset(&all)
                pthread_sigmask(SIG_BLOCK, &all, &previous)
                defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
                guard rename(destination, aside) == 0 else {
                    throw FormatError(
                        .io, "cannot move the old directory aside: \(MappedFile.errnoText())", path: destination)
                }
                guard rename(staging, destination) == 0 else {
                    let reason = MappedFile.errnoText()
                    if rename(aside, destination) != 0 {
                        throw FormatError(
                            .io, "cannot move into place (\(reason)); the old directory is at \(aside)",
                            path: destination)
                    }
                    throw FormatError(.io, "cannot move into place: \(reason)", path: destination)
                }
                FileSystem.removeShallowDirectory(aside)
            } else {
                // `staging` now holds the old directory.
                FileSystem.removeShallowDirectory(staging)
            }
        } else {
            guard rename(staging, destination) == 0 else {
                throw FormatError(.io, "cannot move into place: \(MappedFile.errnoText())", path: destination)
            }
        }
        committed = true
        TemporaryFiles.unregister(staging)
        FileSystem.syncDirectory(of: destination)
    }
}
