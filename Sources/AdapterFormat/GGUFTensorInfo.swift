/// One tensor of a GGUF file, as its tensor info describes it, checked against the file.
///
/// Dimensions are in ggml's order: `dimensions[0]` (ne[0]) varies fastest and is the length of a
/// row, so a PyTorch `[out, in]` weight is stored as ne = `[in, out]`: ``columns`` = in, ``rows`` =
/// out. Only ``GGUFFile`` makes these, after checking that ``columns`` is a whole number of blocks
/// and that the ``byteCount`` bytes at ``offset`` lie inside the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name (`blk.0.attn_q.weight`).
    public let name: String
    /// ne[0], ne[1], …: at most four, innermost first; empty for a scalar.
    public let dimensions: [Int]
    /// The element type, possibly one ``GGMLType/dequantize(_:count:into:)`` does not handle
    /// (``GGMLType/isSupported``); its sizes are always known (``GGMLType/isKnown``).
    public let type: GGMLType
    /// The absolute byte offset of the first block in the file (data section start + the stored
    /// relative offset).
    public let offset: Int
    /// `rows × type.rowBytes(columns:)`.
    public let byteCount: Int
    /// ne[0] (1 for a scalar).
    public let columns: Int
    /// The product of ne[1...] (1 for a vector or a scalar).
    public let rows: Int

    /// `rows × columns`.
    public var elementCount: Int { rows * columns }

    /// The bytes of one row.
    public var rowBytes: Int { type.rowBytes(columns: columns) }

    init(name: String, dimensions: [Int], type: GGMLType, offset: Int, byteCount: Int, columns: Int, rows: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
        self.columns = columns
        self.rows = rows
    }
}
