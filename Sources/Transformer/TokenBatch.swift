/// Sequences of token ids, right-padded to a common length with a mask.
public struct TokenBatch: Sendable {
    public let count: Int
    public let length: Int
    /// count × length ids, padded with `padID`.
    public let ids: [Int]
    /// count × length: true for real tokens.
    public let mask: [Bool]
    /// Real length of each sequence.
    public let lengths: [Int]

    public init(_ sequences: [[Int]], padID: Int = 0) {
        count = sequences.count
        length = sequences.map(\.count).max() ?? 0
        var ids = [Int](repeating: padID, count: count * length)
        var mask = [Bool](repeating: false, count: count * length)
        for (b, s) in sequences.enumerated() {
            for (t, id) in s.enumerated() {
                ids[b * length + t] = id
                mask[b * length + t] = true
            }
        }
        self.ids = ids
        self.mask = mask
        lengths = sequences.map(\.count)
    }
}
