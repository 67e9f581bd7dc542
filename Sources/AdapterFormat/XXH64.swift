/// The XXH64 hash (xxHash, 64-bit variant), streaming or one-shot.
///
/// Every tensor in a `.lora` file carries the XXH64 of its raw bytes, and the
/// header carries the XXH64 of itself. XXH64 is fast enough (several GB/s) to
/// verify every byte on every read.
public struct XXH64: Sendable {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1, v2, v3, v4: UInt64
    private let seed: UInt64
    private var totalLength: UInt64 = 0
    private var buffer = [UInt8](repeating: 0, count: 32)
    private var buffered = 0

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ XXH64.p1 &+ XXH64.p2
        v2 = seed &+ XXH64.p2
        v3 = seed
        v4 = seed &- XXH64.p1
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        (acc ^ round(0, val)) &* p1 &+ p4
    }

    /// Feeds more bytes.
    public mutating func update(_ data: UnsafeRawBufferPointer) {
        var p = 0
        let n = data.count
        totalLength &+= UInt64(n)
        if buffered > 0 {
            let take = min(32 - buffered, n)
            for i in 0..<take { buffer[buffered + i] = data[i] }
            buffered += take
            p = take
            if buffered < 32 { return }
            buffer.withUnsafeBytes { stripe(UnsafeRawBufferPointer($0), 0) }
            buffered = 0
        }
        while p + 32 <= n {
            stripe(data, p)
            p += 32
        }
        for i in p..<n { buffer[i - p] = data[i] }
        buffered = n - p
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    @inline(__always) private mutating func stripe(_ data: UnsafeRawBufferPointer, _ at: Int) {
        v1 = XXH64.round(v1, data.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian)
        v2 = XXH64.round(v2, data.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self).littleEndian)
        v3 = XXH64.round(v3, data.loadUnaligned(fromByteOffset: at + 16, as: UInt64.self).littleEndian)
        v4 = XXH64.round(v4, data.loadUnaligned(fromByteOffset: at + 24, as: UInt64.self).littleEndian)
    }

    /// The hash of everything fed so far (the state is unchanged).
    public func finalize() -> UInt64 {
        var h: UInt64
        if totalLength >= 32 {
            h = XXH64.rotl(v1, 1) &+ XXH64.rotl(v2, 7) &+ XXH64.rotl(v3, 12) &+ XXH64.rotl(v4, 18)
            h = XXH64.mergeRound(h, v1)
            h = XXH64.mergeRound(h, v2)
            h = XXH64.mergeRound(h, v3)
            h = XXH64.mergeRound(h, v4)
        } else {
            h = seed &+ XXH64.p5
        }
        h &+= totalLength
        buffer.withUnsafeBytes { tail in
            var p = 0
            let n = buffered
            while p + 8 <= n {
                h ^= XXH64.round(0, tail.loadUnaligned(fromByteOffset: p, as: UInt64.self).littleEndian)
                h = XXH64.rotl(h, 27) &* XXH64.p1 &+ XXH64.p4
                p += 8
            }
            if p + 4 <= n {
                h ^= UInt64(tail.loadUnaligned(fromByteOffset: p, as: UInt32.self).littleEndian) &* XXH64.p1
                h = XXH64.rotl(h, 23) &* XXH64.p2 &+ XXH64.p3
                p += 4
            }
            while p < n {
                h ^= UInt64(tail[p]) &* XXH64.p5
                h = XXH64.rotl(h, 11) &* XXH64.p1
                p += 1
            }
        }
        h ^= h >> 33
        h &*= XXH64.p2
        h ^= h >> 29
        h &*= XXH64.p3
        h ^= h >> 32
        return h
    }

    /// One-shot hash of a buffer.
    public static func hash(_ data: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = XXH64(seed: seed)
        h.update(data)
        return h.finalize()
    }

    /// One-shot hash of a byte array.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The hash as 16 lowercase hex digits, the form stored in headers.
    public static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
