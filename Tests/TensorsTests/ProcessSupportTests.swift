import XCTest
import Tensors
import TestSupport

/// The BLAS kernel choice and the background tasks the pipelines use.
final class ProcessSupportTests: XCTestCase {
    func testKernelOverrideOnlyReplacesTheGenericFallback() {
        let emeraldRapids: Set = [
            "fma", "avx2", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "amx_tile",
        ]
        XCTAssertEqual(BLAS.preferredCore(detected: "Prescott", cpuFlags: emeraldRapids), "Cooperlake")
        XCTAssertEqual(
            BLAS.preferredCore(detected: "Prescott", cpuFlags: emeraldRapids.subtracting(["avx512_bf16"])), "SkylakeX")
        XCTAssertEqual(BLAS.preferredCore(detected: "Prescott", cpuFlags: ["fma", "avx2", "avx512f"]), "Haswell")
        XCTAssertNil(BLAS.preferredCore(detected: "Prescott", cpuFlags: ["sse3", "avx"]))
        // A core OpenBLAS knows is never second-guessed.
        XCTAssertNil(BLAS.preferredCore(detected: "Zen", cpuFlags: emeraldRapids))
        XCTAssertNil(BLAS.preferredCore(detected: "Haswell", cpuFlags: emeraldRapids))
    }

    func testCPUFlagsAreReadFromCpuinfo() throws {
        let dir = try Fixtures.scratchDirectory()
        let path = dir + "/cpuinfo"
        try Fixtures.write(Array("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\nbugs\t\t: none\n".utf8), to: path)
        XCTAssertEqual(BLAS.cpuFlags(cpuinfo: path), ["fpu", "sse2", "avx2", "fma"])
        XCTAssertEqual(BLAS.cpuFlags(cpuinfo: dir + "/missing"), [])
        XCTAssertFalse(BLAS.coreName.isEmpty)
    }

    struct Boom: Error {}

    func testBackgroundTaskReturnsValuesAndRethrows() {
        let ok = BackgroundTask { (1...1000).reduce(0, +) }
        XCTAssertEqual(try ok.value(), 500500)
        XCTAssertEqual(try ok.value(), 500500, "a second call returns at once")
        let failing = BackgroundTask<Int> { throw Boom() }
        XCTAssertThrowsError(try failing.value()) { XCTAssertTrue($0 is Boom) }
    }
}
