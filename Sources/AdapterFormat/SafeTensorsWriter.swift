import Tensors

/// Writes safetensors files byte for byte as the reference library does.
///
/// The reference orders tensors by descending dtype (in its enum order) and
/// then by name, writes the header as compact JSON with `__metadata__` first,
/// and pads it with spaces to a multiple of 8 bytes. With at most one
/// metadata key the output is identical to Python's `save_file`; with more,
/// the reference's order is a hash-map order that varies from run to run, so
/// adaptermerge sorts the keys instead.
public enum SafeTensorsWriter {
    /// Where a dtype sorts in the reference implementation's `Dtype` enum.
    static func referenceOrder(_ d: DType) -> Int {
        switch d {
        case .bool: return 0
        case .u8: return 1
        case .i8: return 2
        case .f8e5m2: return 3
        case .f8e4m3: return 4
        case .i16: return 5
        case .u16: return 6
        case .f16: return 7
        case .bf16: return 8
        case .i32: return 9
        case .u32: return 10
        case .f32: return 11
        case .f64: return 12
        case .i64: return 13
        case .u64: return 14
        }
    }

    /// The header bytes (without the length prefix) and the tensor order for
    /// the given tensors.
    public static func layout(
        _ specs: [(name: String, dtype: DType, shape: [Int])],
        metadata: [String: String]?
    ) -> (header: [UInt8], order: [Int]) {
        let order = specs.indices.sorted { i, j in
            let a = referenceOrder(specs[i].dtype)
            let b = referenceOrder(specs[j].dtype)
            if a != b { return a > b }
            return Array(specs[i].name.utf8).lexicographicallyPrecedes(specs[j].name.utf8)
        }
        var pairs: [(key: String, value: JSONValue)] = []
        if let metadata {
            let sorted = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) }
            pairs.append(("__metadata__", .object(sorted.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for i in order {
            let s = specs[i]
            let size = s.shape.reduce(1, *) * s.dtype.byteSize
            pairs.append(
                (
                    s.name,
                    [
                        "dtype": .string(s.dtype.rawValue),
                        "shape": .array(s.shape.map { .int($0) }),
                        "data_offsets": [.int(offset), .int(offset + size)],
                    ]
                ))
            offset += size
        }
        var header = JSONValue.object(pairs).compactBytes
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        return (header, order)
    }

    /// Writes tensors atomically to `path`, asking `produce` for each one in
    /// file order, so only one tensor needs to be in memory at a time.
    public static func write(
        specs: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String]?,
        to path: String, overwrite: Bool, produce: (String) throws -> Tensor
    ) throws {
        try checkUnique(specs.map(\.name), path: path)
        let (header, order) = layout(specs, metadata: metadata)
        let out = try AtomicFileWriter(destination: path, overwrite: overwrite)
        try out.write(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
        try out.write(header)
        for i in order {
            let tensor = try produce(specs[i].name)
            guard tensor.dtype == specs[i].dtype, tensor.shape == specs[i].shape else {
                throw FormatError(
                    .invalidContent, "tensor does not have its announced dtype and shape", path: path,
                    location: specs[i].name)
            }
            try out.write(tensor.bytes)
        }
        try out.commit()
    }

    /// Writes in-memory tensors atomically to `path`.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]?,
        to path: String, overwrite: Bool
    ) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        try write(
            specs: tensors.map { ($0.name, $0.tensor.dtype, $0.tensor.shape) }, metadata: metadata,
            to: path, overwrite: overwrite
        ) { byName[$0]! }
    }

    /// The complete file as bytes (for tests and small files).
    public static func serialize(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]?) -> [UInt8] {
        let specs = tensors.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) }
        let (header, order) = layout(specs, metadata: metadata)
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        bytes += header
        for i in order { bytes += tensors[i].tensor.bytes }
        return bytes
    }

    static func checkUnique(_ names: [String], path: String) throws {
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted {
            throw FormatError(.invalidContent, "two tensors are named \"\(n)\"", path: path)
        }
        if seen.contains("__metadata__") {
            throw FormatError(.invalidContent, "a tensor cannot be named __metadata__", path: path)
        }
    }
}
