/// The trainers' and the example world's seeded generator is ``SplitMix64``
/// itself: the same seed and stream give the same numbers on every machine, so
/// a training run is reproducible bit for bit (for the same BLAS kernels). The
/// merges draw from ``SeededGenerator`` (xoshiro256**, seeded through
/// SplitMix64); the two stay apart because seeded merges and shipped adapters
/// record their streams, but both derive streams by ``SplitMix64/streamSeed(_:_:)``.
public typealias TrainingRandom = SplitMix64

extension SplitMix64 {
    /// A generator for one use (`stream`: "lora-init", "dropout", "shuffle", …) of a run's seed.
    public init(seed: UInt64, stream: String) {
        self.init(state: SplitMix64.streamSeed(seed, stream))
    }

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
