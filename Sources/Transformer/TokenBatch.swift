/// Sequences of token ids laid out as the rows of a forward pass, in one of
/// two layouts:
///
/// - **padded** (`TokenBatch(_:padID:)`): every sequence takes `length` rows,
///   right-padded with `padID`; sequence `b`'s token `t` is row `b · length + t`.
/// - **packed** (`TokenBatch(packing:)`): the sequences' tokens back to back,
///   no padding at all, as variable-length attention kernels take them; rows
///   that would be padding are simply not computed.
///
/// Either way, ``row(_:_:)`` finds a token's row in the pass's outputs, and
/// attention never lets a sequence see another's rows or padding.
public struct TokenBatch: Sendable {
    public let count: Int
    /// The longest sequence.
    public let length: Int
    /// The ids, one per row.
    public let ids: [Int]
    /// One per row: true for a real token (all true when packed).
    public let mask: [Bool]
    /// Real length of each sequence.
    public let lengths: [Int]
    /// The first row of each sequence, then the row count: `count + 1` entries.
    public let offsets: [Int]
    /// One per row: the row's position within its sequence (RoPE's position).
    public let positions: [Int]

    /// Rows of the pass: `count · length` padded, the sum of the lengths packed.
    public var rows: Int { offsets[count] }

    /// The row of sequence `sequence`'s token `t`.
    public func row(_ sequence: Int, _ t: Int) -> Int { offsets[sequence] + t }

    /// Where to cut the sequences into `parts` contiguous parts of about equal
    /// rows (`parts + 1` non-decreasing sequence indices, from 0 to `count`):
    /// each inner cut is the sequence boundary nearest its share. Equal rows,
    /// not equal sequence counts, because a packed batch's sequences differ in
    /// length and a pass waits for its slowest part.
    func partBoundaries(_ parts: Int) -> [Int] {
        let parts = Swift.max(parts, 1)
        return (0...parts).map { p in
            if p == parts { return count }
            let target = p * rows / parts
            return offsets.indices.min { abs(offsets[$0] - target) < abs(offsets[$1] - target) } ?? 0
        }
    }

    /// The padded layout: every sequence right-padded to the longest.
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
        let length = self.length
        offsets = (0...count).map { $0 * length }
        positions = (0..<(count * length)).map { $0 % length }
    }

    /// The packed layout: the sequences back to back, without padding.
    public init(packing sequences: [[Int]]) {
        count = sequences.count
        length = sequences.map(\.count).max() ?? 0
        ids = Array(sequences.joined())
        mask = [Bool](repeating: true, count: ids.count)
        lengths = sequences.map(\.count)
        var offsets = [0]
        offsets.reserveCapacity(count + 1)
        for s in sequences { offsets.append(offsets[offsets.count - 1] + s.count) }
        self.offsets = offsets
        positions = Array(sequences.map { $0.indices }.joined())
    }
}
