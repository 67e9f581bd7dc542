#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Tensors

/// Which encoding the writer uses.
public enum EncodingChoice: String, Sendable, CaseIterable {
    /// Byte planes for floats, zstd for the rest; raw when either saves under 5%.
    case auto
    case raw
    case zstd
    case planes
}

/// Options of the `.lora` writer.
public struct LoraWriteOptions: Sendable {
    public var encoding: EncodingChoice
    /// zstd level (1 to 19; negative levels are zstd's fast modes).
    public var level: Int32
    /// The output format; `nil` lets the path decide (``AdapterOutputFormat/of(_:requested:)``).
    public var format: AdapterOutputFormat?
    /// For a GGUF adapter: the base model's layout (architecture, head counts),
    /// and whether lora_a is stored as Q8_0.
    public var llamaCpp: LlamaCppLayout?
    public var quantizeA = false

    public init(encoding: EncodingChoice = .auto, level: Int32 = Zstd.defaultLevel, format: AdapterOutputFormat? = nil)
    {
        self.encoding = encoding
        self.level = level
        self.format = format
    }
}

/// Writes a `.lora` file tensor by tensor.
///
/// Encoded tensors are spooled to an unlinked temporary file, so memory holds
/// one tensor at a time whatever the adapter's size. ``finish(metadata:)``
/// then writes the preamble and header and copies the spool behind them into
/// an ``AtomicFileWriter``. The same tensors, metadata and options always give
/// the same bytes (for a given libzstd version).
public final class LoraContainerWriter {
    /// Compression that saves less than this fraction is not worth decoding.
    public static let minimumSaving = 0.05

    public let destination: String
    public let overwrite: Bool
    public let options: LoraWriteOptions
    private var entries: [LoraTensorEntry] = []
    private var names = Set<String>()
    private var spool: Int32
    private var spoolLength = 0

    public init(destination: String, overwrite: Bool, options: LoraWriteOptions = LoraWriteOptions()) throws {
        self.destination = destination
        self.overwrite = overwrite
        self.options = options
        try FileSystem.checkOutput(destination, kind: .file, overwrite: overwrite)
        let (dir, name) = FileSystem.split(destination)
        var template = Array("\(dir)/.\(name).spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FormatError(.io, "cannot create a spool file: \(MappedFile.errnoText())", path: destination)
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        spool = fd
    }

    deinit { if spool >= 0 { close(spool) } }

    /// A tensor encoded for the file and checksummed, not yet placed in it.
    ///
    /// Encoding is the expensive part of writing and depends on nothing but
    /// the tensor, so callers may prepare tensors on other threads and
    /// ``append(_:)`` them in order.
    public struct PreparedTensor: Sendable {
        public let name: String
        let dtype: DType
        let shape: [Int]
        let encoding: TensorEncoding
        let stored: [UInt8]
        let planes: [LoraTensorEntry.Plane]
        let rawLength: Int
        let checksum: UInt64
        let storedChecksum: UInt64
    }

    /// Encodes and checksums one tensor; thread-safe.
    public static func prepare(name: String, tensor: Tensor, options: LoraWriteOptions) throws -> PreparedTensor {
        let (encoding, stored, planes) = try tensor.bytes.withUnsafeBytes {
            try encode($0, dtype: tensor.dtype, options: options)
        }
        return PreparedTensor(
            name: name, dtype: tensor.dtype, shape: tensor.shape, encoding: encoding, stored: stored,
            planes: planes, rawLength: tensor.bytes.count, checksum: XXH64.hash(tensor.bytes),
            storedChecksum: XXH64.hash(stored))
    }

    /// Encodes and appends one tensor.
    public func append(name: String, tensor: Tensor) throws {
        try append(try LoraContainerWriter.prepare(name: name, tensor: tensor, options: options))
    }

    /// Appends a tensor prepared with this writer's options.
    public func append(_ tensor: PreparedTensor) throws {
        guard tensor.name != "__metadata__", names.insert(tensor.name).inserted else {
            throw FormatError(
                .invalidContent, "duplicate or reserved tensor name \"\(tensor.name)\"", path: destination)
        }
        let start = LoraContainer.aligned(spoolLength)
        try spoolWrite([UInt8](repeating: 0, count: start - spoolLength))
        try spoolWrite(tensor.stored)
        entries.append(
            LoraTensorEntry(
                name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, encoding: tensor.encoding,
                storedRange: start..<(start + tensor.stored.count), rawLength: tensor.rawLength,
                checksum: tensor.checksum, storedChecksum: tensor.storedChecksum, planes: tensor.planes))
    }

    /// Encodes one tensor's raw bytes as the writer stores them: byte planes
    /// for floats under `planes`/`auto` (each plane literal-coded only when
    /// that saves at least ``minimumSaving``), zstd otherwise, and under
    /// `auto` raw when the whole tensor saves less than that.
    public static func encode(_ raw: UnsafeRawBufferPointer, dtype: DType, options: LoraWriteOptions) throws
        -> (encoding: TensorEncoding, stored: [UInt8], planes: [LoraTensorEntry.Plane])
    {
        if raw.isEmpty || options.encoding == .raw { return (.raw, Array(raw), []) }
        let threshold = Double(raw.count) * (1 - minimumSaving)
        let usePlanes = dtype.isConvertibleFloat && (options.encoding == .planes || options.encoding == .auto)
        if usePlanes {
            let width = dtype.byteSize
            let split = BytePlanes.split(raw, width: width)
            let n = raw.count / width
            var stored = [UInt8]()
            var planes: [LoraTensorEntry.Plane] = []
            try split.withUnsafeBytes { all in
                for k in 0..<width {
                    let plane = UnsafeRawBufferPointer(rebasing: all[(k * n)..<((k + 1) * n)])
                    let z = try Zstd.compressLiterals(plane)
                    if Double(z.count) < Double(n) * (1 - minimumSaving) {
                        stored += z
                        planes.append(.init(codec: .zstd, length: z.count))
                    } else {
                        stored.append(contentsOf: plane)
                        planes.append(.init(codec: .raw, length: n))
                    }
                }
            }
            if options.encoding == .auto && Double(stored.count) >= threshold { return (.raw, Array(raw), []) }
            return (.planes, stored, planes)
        }
        let z = try Zstd.compress(raw, level: options.level)
        if options.encoding == .auto && Double(z.count) >= threshold { return (.raw, Array(raw), []) }
        return (.zstd, z, [])
    }

    private func spoolWrite(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let n = write(spool, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FormatError(.io, "spool write failed: \(MappedFile.errnoText())", path: destination)
                }
                offset += n
            }
        }
        spoolLength += bytes.count
    }

    /// The header bytes (JSON plus padding) for the entries so far.
    func headerBytes(metadata: JSONValue) -> [UInt8] {
        var pairs: [(key: String, value: JSONValue)] = [("__metadata__", metadata.canonicalized)]
        for e in entries.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8) }) {
            pairs.append((e.name, e.headerValue))
        }
        var header = JSONValue.object(pairs).compactBytes
        let total = LoraContainer.aligned(LoraContainer.preambleSize + header.count)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: total - LoraContainer.preambleSize - header.count))
        return header
    }

    /// Writes the file and moves it into place. `metadata` must be a JSON object.
    public func finish(metadata: JSONValue) throws {
        guard case .object = metadata else {
            throw FormatError(.invalidContent, "metadata must be a JSON object", path: destination)
        }
        let header = headerBytes(metadata: metadata)
        let out = try AtomicFileWriter(destination: destination, overwrite: overwrite)
        var preamble = LoraContainer.magic
        withUnsafeBytes(of: LoraContainer.formatVersion.littleEndian) { preamble += $0 }
        withUnsafeBytes(of: UInt32(0)) { preamble += $0 }
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { preamble += $0 }
        withUnsafeBytes(of: XXH64.hash(header).littleEndian) { preamble += $0 }
        try out.write(preamble)
        try out.write(header)
        try out.append(contentsOf: spool, length: spoolLength)
        try out.commit()
    }
}
