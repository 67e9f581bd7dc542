/// The trainers' seeded generator (SplitMix64): the same seed and stream give
/// the same numbers on every machine, so a training run is reproducible bit
/// for bit (for the same BLAS kernels).
public struct TrainingRandom: Sendable {
    private var state: UInt64

    /// A generator for one use (`stream`: "lora-init", "dropout", "shuffle", …) of a run's seed.
    public init(seed: UInt64, stream: String) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in stream.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        state = seed ^ h
    }

    /// A generator continuing from a raw state (a draw of another generator).
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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
