/// The trainers' and the example world's seeded generator (SplitMix64): the
/// same seed and stream give the same numbers on every machine, so a training
/// run is reproducible bit for bit (for the same BLAS kernels). The merges
/// draw from ``SeededGenerator`` instead (xoshiro256**, a longer period for
/// dense masks); both derive their streams through ``SplitMix64/streamSeed(_:_:)``.
public struct TrainingRandom: Sendable {
    private var generator: SplitMix64

    /// A generator for one use (`stream`: "lora-init", "dropout", "shuffle", …) of a run's seed.
    public init(seed: UInt64, stream: String) {
        generator = SplitMix64(state: SplitMix64.streamSeed(seed, stream))
    }

    /// A generator continuing from a raw state (a draw of another generator).
    public init(state: UInt64) { generator = SplitMix64(state: state) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Fisher–Yates.
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, Int(next() % UInt64(i + 1)))
        }
    }
}
