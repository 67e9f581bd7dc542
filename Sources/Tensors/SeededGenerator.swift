/// xoshiro256** seeded through SplitMix64: fast, reproducible everywhere.
///
/// Merges that draw random numbers (DARE's drop mask, the randomized SVD's
/// test matrix) derive one generator per module and input from the user's
/// seed and the module path, so results do not depend on processing order.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitmix = SplitMix64(state: seed)
        s = (splitmix.next(), splitmix.next(), splitmix.next(), splitmix.next())
    }

    /// A generator for one purpose: the seed mixed with a name and an index.
    public init(seed: UInt64, stream: String, index: Int = 0) {
        self.init(seed: SplitMix64.streamSeed(seed, stream) ^ (UInt64(truncatingIfNeeded: index) &* SplitMix64.gamma))
    }

    @inline(__always) static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = SeededGenerator.rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A standard normal draw (Box–Muller).
    public mutating func nextNormal() -> Double {
        let u = Swift.max(nextUniform(), 0x1.0p-60)
        let v = nextUniform()
        return (-2 * _log(u)).squareRoot() * _cos(2 * .pi * v)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
@inline(__always) private func _log(_ x: Double) -> Double { log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { cos(x) }
