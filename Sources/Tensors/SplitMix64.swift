/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast generator whose
/// draws are the same on every machine. The trainers, the example world and
/// the tests all draw from it; the C dropout kernel computes the same
/// `mix` of a counter.
public struct SplitMix64: Sendable {
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= SplitMix64.gamma
        return SplitMix64.mix(state)
    }

    /// A run's seed for one named use ("dropout", "lora-init", a module path):
    /// the seed XOR the FNV-1a hash of the name, so streams of one seed differ.
    public static func streamSeed(_ seed: UInt64, _ stream: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in stream.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return seed ^ h
    }

    /// The output function: draw i of the stream starting at `s` is `mix(s + (i + 1) · gamma)`.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
