import CSystem
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings made once, before any command runs.
enum ProcessSetup {
    static func apply() {
        selectBLASKernels()
        tuneAllocator()
    }

    /// Re-executes the tool with `OPENBLAS_CORETYPE` set when OpenBLAS fell
    /// back to its generic kernels on a CPU it does not know
    /// (``BLAS/preferredCore(detected:cpuFlags:)``).
    ///
    /// OpenBLAS reads the variable only while it loads, before `main`, so a
    /// fresh image is the one way to apply it. A value the user set is always
    /// kept, and that also stops a second re-execution. If `execv` fails the
    /// tool carries on with the slower kernels.
    private static func selectBLASKernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let core = BLAS.preferredCore(detected: BLAS.coreName, cpuFlags: BLAS.cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// Keeps freed memory in the process instead of returning it to the kernel.
    ///
    /// Merges and forward passes allocate and free buffers of a few MB per
    /// module or layer. With glibc's defaults each such buffer is a fresh
    /// `mmap`, and its pages fault in again every time: a 32-layer `concat`
    /// spent about a third of its time in the kernel. Serving them from the
    /// heap removes that; the peak memory is unchanged.
    private static func tuneAllocator() {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 512 << 20)
    }
}
