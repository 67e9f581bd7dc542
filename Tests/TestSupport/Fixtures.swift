import AdapterFormat
import Foundation
import Tensors

/// Paths of the committed fixtures under `Tests/Fixtures`, made by
/// `scripts/fixtures/make_fixtures.py` with real PyTorch, PEFT and safetensors.
public enum Fixtures {
    /// The repository's `Tests/Fixtures` directory.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()  // TestSupport
        url.deleteLastPathComponent()  // Tests
        return url.appendingPathComponent("Fixtures").path
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// A fixture's JSON.
    public static func json(_ relative: String) throws -> JSONValue {
        try JSONValue(parsing: try FileSystem.readFile(path(relative)))
    }

    /// The real model `scripts/get-real-model.sh` fetches (SmolLM2-135M-Instruct,
    /// Q4_1 GGUF), or `nil` when it has not been fetched: tests that need it
    /// skip, saying so.
    public static var realModel: String? {
        var url = URL(fileURLWithPath: root)
        url.deleteLastPathComponent()  // Fixtures
        url.deleteLastPathComponent()  // Tests
        let path = url.appendingPathComponent("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The message a test gives when it skips for want of the real model.
    public static let realModelMissing =
        "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf is absent: run scripts/get-real-model.sh"

    /// A fresh empty directory for one test's outputs.
    public static func scratchDirectory(_ name: String = #function) throws -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let dir = NSTemporaryDirectory() + "adaptermerge-tests-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Bytes of a file.
    public static func bytes(_ path: String) throws -> [UInt8] {
        try FileSystem.readFile(path, limit: 1 << 30)
    }

    /// Writes bytes to a file, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// A small deterministic generator (SplitMix64) for test data.
public struct TestRandom {
    private var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(state: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u = max(uniform(), 1e-300)
        let v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    public mutating func floats(_ n: Int, scale: Double = 1) -> [Float] {
        (0..<n).map { _ in Float(normal() * scale) }
    }
}

/// Relative closeness for doubles: |a − b| ≤ tol · max(|a|, |b|, floor).
public func isClose(_ a: Double, _ b: Double, rel: Double, floor: Double = 1e-12) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b), floor)
}
