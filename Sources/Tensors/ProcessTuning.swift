import CSystem
#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide settings for executables that do numeric work: the command
/// line tool and the benchmarks call ``apply()`` first thing in `main`, so
/// that both measure the same process.
public enum ProcessTuning {
    /// Picks OpenBLAS's kernels (which may re-execute the program) and keeps
    /// freed memory in the process.
    public static func apply() {
        BLAS.relaunchWithPreferredKernelsIfNeeded()
        keepFreedMemory()
    }

    /// Keeps freed memory in the process instead of returning it to the kernel.
    ///
    /// Merges and forward passes allocate and free buffers of a few MB per
    /// module or layer. With glibc's defaults each such buffer is a fresh
    /// `mmap`, and its pages fault in again every time: a 32-layer `concat`
    /// spent about a third of its time in the kernel. Serving them from the
    /// heap removes that; the peak memory is unchanged.
    public static func keepFreedMemory() {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 512 << 20)
    }
}

/// The machine's memory, for caps on work a user input controls.
public enum PhysicalMemory {
    /// Bytes of physical memory (16 GiB where it cannot be read).
    public static let bytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 1 << 34 }
        return pages * size
    }()
}

/// How many CPUs this process may run on.
public enum ProcessorCount {
    /// The CPUs in this process's affinity mask (so `taskset -c 0` gives 1),
    /// or the online processor count where the mask cannot be read.
    public static var available: Int {
        let count = Int(adaptermerge_affinity_cpu_count())
        return count > 0 ? count : max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
