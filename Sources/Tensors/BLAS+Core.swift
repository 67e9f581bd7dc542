import CBLAS
#if canImport(Glibc)
    import Glibc
#endif

extension BLAS {
    /// The kernel set OpenBLAS chose when it loaded, e.g. `Haswell`, `SkylakeX`, `Zen`.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build description (version, threading, dynamic architecture).
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// The kernel set to ask for with `OPENBLAS_CORETYPE`, when OpenBLAS fell
    /// back to its generic one on a CPU that is newer than its tables.
    ///
    /// A `DYNAMIC_ARCH` OpenBLAS picks kernels from the CPU model number, and
    /// an unknown model gets the SSE3 `Prescott` kernels. Debian 12's OpenBLAS
    /// 0.3.21 does that on Emerald Rapids, for example, which makes every
    /// sgemm several times slower than the CPU allows. The CPU's feature flags
    /// say which known kernel set it can run: AVX-512 (F, CD, BW, DQ, VL) gets
    /// the Skylake-X kernels, plus BF16 the Cooper Lake ones; AVX2 with FMA the
    /// Haswell ones.
    ///
    /// - Returns: `nil` when OpenBLAS's own choice is not the fallback, or the
    ///   CPU has nothing better.
    public static func preferredCore(detected: String, cpuFlags: Set<String>) -> String? {
        guard detected == "Prescott" else { return nil }
        let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        if avx512.allSatisfy(cpuFlags.contains) {
            return cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Re-executes the running program with `OPENBLAS_CORETYPE` set when
    /// OpenBLAS fell back to its generic kernels on a CPU it does not know
    /// (``preferredCore(detected:cpuFlags:)``). For executables, first thing
    /// in `main`.
    ///
    /// OpenBLAS reads the variable only while it loads, before `main`, so a
    /// fresh image is the one way to apply it. A value the user set is always
    /// kept, which also stops a second re-execution. If `execv` fails, the
    /// program carries on with the slower kernels.
    public static func relaunchWithPreferredKernelsIfNeeded() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
            let core = preferredCore(detected: coreName, cpuFlags: cpuFlags())
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// The feature flags of the first CPU in `/proc/cpuinfo` (empty where there is none).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            guard text.hasPrefix("flags"), let colon = text.firstIndex(of: ":") else { continue }
            return Set(
                text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(
                    String.init))
        }
        return []
    }
}
