import Tensors

/// An adapter stored in a `.lora` container.
public final class LoraFileAdapter: AdapterSource, @unchecked Sendable {
    public let location: String
    public let format = AdapterFormatKind.lora
    public let modules: [LoraModuleInfo]
    public let metadata: AdapterMetadata
    public let container: LoraContainerReader
    private let file: MappedFile

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let container = try LoraContainerReader(file: file)
        self.container = container
        self.location = file.path
        let path = file.path
        let meta = container.metadata
        func bad(_ message: String, _ location: String) -> FormatError {
            FormatError(.malformed, message, path: path, location: location)
        }
        guard meta["format"]?.stringValue == LoraContainer.formatName else {
            throw bad("metadata does not declare format \"\(LoraContainer.formatName)\"", "__metadata__.format")
        }
        let rslora = meta["use_rslora"]?.boolValue ?? false
        guard let moduleTable = meta["modules"]?.objectValue else {
            throw bad("metadata lacks the modules table", "__metadata__.modules")
        }
        var modules: [LoraModuleInfo] = []
        var claimed = Set<String>()
        for (modulePath, value) in moduleTable {
            guard let r = value["r"]?.intValue, r >= 0, let alpha = value["alpha"]?.doubleValue, alpha.isFinite else {
                throw bad("module entry needs an integer r and a finite alpha", "__metadata__.modules.\(modulePath)")
            }
            let keyA = LoraModuleInfo.key(modulePath, "lora_A")
            let keyB = LoraModuleInfo.key(modulePath, "lora_B")
            guard let a = container.entry(keyA), let b = container.entry(keyB) else {
                throw bad("module has no lora_A / lora_B tensors", modulePath)
            }
            guard a.shape.count == 2, b.shape.count == 2, a.shape[0] == r, b.shape[1] == r, a.dtype == b.dtype else {
                throw bad("tensors A \(a.shape) and B \(b.shape) do not match rank \(r)", modulePath)
            }
            guard a.dtype.isConvertibleFloat else {
                throw bad("factors have non-float dtype \(a.dtype.rawValue)", modulePath)
            }
            claimed.insert(keyA)
            claimed.insert(keyB)
            modules.append(
                LoraModuleInfo(
                    path: modulePath, rank: r, inFeatures: a.shape[1], outFeatures: b.shape[0],
                    alpha: alpha, useRSLoRA: rslora, dtype: a.dtype))
        }
        if let stray = container.entries.first(where: { !claimed.contains($0.name) }) {
            throw bad("tensor belongs to no module in the metadata", stray.name)
        }
        self.modules = modules.sorted { naturalOrder($0.path, $1.path) }
        self.metadata = try AdapterMetadata(json: meta, path: path)
    }

    public var storedBytes: Int { container.storedBytes }
    public var rawBytes: Int { container.rawBytes }
    public var encodings: [String: TensorEncoding] {
        Dictionary(uniqueKeysWithValues: container.entries.map { ($0.name, $0.encoding) })
    }

    public func contentHash() throws -> String { XXH64.hex(XXH64.hash(file.bytes)) }

    public func factors(of module: LoraModuleInfo) throws -> (a: Tensor, b: Tensor) {
        let a = try container.tensor(module.keyA)
        let b = try container.tensor(module.keyB)
        try module.validate(a: a, b: b, source: location)
        return (a, b)
    }
}
