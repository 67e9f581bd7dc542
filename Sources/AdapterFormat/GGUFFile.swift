/// A GGUF file (llama.cpp's model format, versions 2 and 3, little-endian) opened for reading.
///
/// Opening parses and checks the whole header against the file before anything is allocated from
/// a count it holds (`GGUFFile+Parsing.swift` lists the checks): the magic and version, every
/// length and count against the bytes left, UTF-8 keys and strings, no duplicate keys or tensor
/// names, `general.alignment` a `u32` power of two, each tensor's row a whole number of blocks and
/// its bytes (rows × row bytes) aligned, inside the file and overlapping no other tensor's.
/// Tensor bytes are then read lazily from the memory map: ``bytes(of:)`` hands out the checked
/// range, ``floats(of:)`` and ``dequantize(_:rows:into:)`` widen it to `Float`.
///
/// A tensor of a type adaptermerge cannot dequantize (IQ2_XXS, Q2_K, …) does not stop the file
/// from opening, so its metadata stays readable; asking for its values throws
/// ``FormatError/Code/unsupported`` naming the tensor, its type and the supported ones. A type
/// number ggml does not define is refused at opening: its size, and so the layout of the file,
/// is unknown.
///
/// Where ggml and gguf-py differ, this reader takes the stricter side: an empty key (refused by
/// ggml), invalid UTF-8 (refused by gguf-py), a `bool` byte other than 0 or 1 (read as true by
/// both) are refused. Nested arrays, which gguf-py writes and ggml refuses, are read (at most
/// ``maximumArrayDepth`` deep). Tensors need not follow each other in the order of their infos
/// (the newest ggml requires that; older ones and gguf-py do not).
public final class GGUFFile: @unchecked Sendable {
    /// The data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// How deep arrays may nest (an array of arrays is depth 2).
    public static let maximumArrayDepth = 8
    /// The most array elements the metadata of one file may hold (all arrays, nested ones
    /// included). An element takes at least one byte in the file but about 24 in memory, so this
    /// bounds what a hostile file can make the reader allocate; real files hold a few hundred
    /// thousand (the vocabulary's tokens, scores, types and merges).
    public static let maximumMetadataValues = 1 << 24

    public let path: String
    /// 2 or 3 (the two have the same layout).
    public let version: UInt32
    /// Every key-value pair.
    public let metadata: [String: GGUFValue]
    /// The keys in file order.
    public let metadataKeys: [String]
    /// The tensors in the order of their infos.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, or 32.
    public let alignment: Int
    /// Where the data section starts: the end of the tensor infos, padded to ``alignment``.
    public let dataOffset: Int
    private let file: MappedFile
    private let index: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    /// Parses the mapped (or in-memory) bytes of `file`, which this object keeps alive.
    public init(file: MappedFile) throws {
        var parser = GGUFParser(bytes: file.bytes, path: file.path)
        let header = try parser.parse()
        self.file = file
        self.path = file.path
        self.version = header.version
        self.metadata = header.metadata
        self.metadataKeys = header.metadataKeys
        self.tensors = header.tensors
        self.alignment = header.alignment
        self.dataOffset = header.dataOffset
        self.index = header.index
    }

    /// A key or tensor name as errors show it: as it is, unless it is empty or holds a control or
    /// line-separating character, which would break the one-line message; then quoted and escaped.
    static func place(_ name: String) -> String {
        let plain =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                switch $0.properties.generalCategory {
                case .control, .lineSeparator, .paragraphSeparator, .format: return false
                default: return true
                }
            }
        return plain ? name : name.debugDescription
    }

    /// The tensor named `name`, if any.
    public func tensor(_ name: String) -> GGUFTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// The stored bytes of `tensor` (``GGUFTensorInfo/byteCount`` bytes at its offset), checked
    /// when the file was opened. Valid while this object lives. `tensor` must be one of
    /// ``tensors``.
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        precondition(index[tensor.name].map { tensors[$0] == tensor } ?? false, "\(tensor.name) is not from \(path)")
        return UnsafeRawBufferPointer(rebasing: file.bytes[tensor.offset..<(tensor.offset + tensor.byteCount)])
    }

    /// Throws, naming the file, the tensor and the supported types, unless `tensor`'s type can be
    /// dequantized.
    public func requireSupported(_ tensor: GGUFTensorInfo) throws {
        guard tensor.type.isSupported else {
            throw FormatError(
                .unsupported, GGMLType.unsupportedMessage(tensor.type), path: path, location: Self.place(tensor.name))
        }
    }

    /// Every element of `tensor` as `Float`, in storage order (ne[0] fastest: row after row).
    /// A stored byte becomes at most about 7 bytes of floats (Q4_0, Q4_K), so the array's size is
    /// bounded by the file's.
    public func floats(of tensor: GGUFTensorInfo) throws -> [Float] {
        try requireSupported(tensor)
        return tensor.type.floats(bytes(of: tensor), count: tensor.elementCount)
    }

    /// Dequantizes rows `rows` of `tensor` (each ``GGUFTensorInfo/columns`` elements) into
    /// `destination`, which must have room for `rows.count × columns` floats.
    public func dequantize(
        _ tensor: GGUFTensorInfo, rows: Range<Int>, into destination: UnsafeMutablePointer<Float>
    ) throws {
        try requireSupported(tensor)
        precondition(rows.lowerBound >= 0 && rows.upperBound <= tensor.rows, "rows \(rows) of \(tensor.rows)")
        guard !rows.isEmpty, tensor.columns > 0, let base = bytes(of: tensor).baseAddress else { return }
        tensor.type.dequantize(
            base + rows.lowerBound * tensor.rowBytes, count: rows.count * tensor.columns, into: destination)
    }
}
