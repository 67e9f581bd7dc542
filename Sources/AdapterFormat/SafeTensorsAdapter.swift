/// An adapter whose factors are one safetensors file, stored raw: PEFT's and mlx-lm's.
protocol SafeTensorsAdapter: AdapterSource {
    var weights: SafeTensorsFile { get }
    /// The mapped weights file.
    var file: MappedFile { get }
}

extension SafeTensorsAdapter {
    public var storedBytes: Int { file.count - 8 - weights.headerLength }
    public var rawBytes: Int { storedBytes }
    public var encodings: [String: TensorEncoding] {
        Dictionary(uniqueKeysWithValues: weights.entries.map { ($0.name, .raw) })
    }

    public func contentHash() throws -> String { XXH64.hex(XXH64.hash(file.bytes)) }
}
