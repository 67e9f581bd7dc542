import AdapterFormat
import Tensors

/// A row-major matrix kept in the form its file stores it, widened to `Float`
/// a range of rows at a time.
///
/// Checkpoints are stored in bf16, f16 or a ggml block format; widening every
/// weight at load costs 4 bytes a parameter (32 GB for an 8B model). A
/// `StoredMatrix` instead points into the file's memory map, which the kernel
/// pages in and out on its own, and widens rows into a caller's scratch just
/// before a matmul reads them. A matrix can also own widened `Float` values,
/// which are then read in place (``residentValues``).
public struct StoredMatrix: @unchecked Sendable {
    /// How the rows are encoded.
    public enum Encoding: Sendable, Equatable {
        case float32, float16, bfloat16
        /// A ggml block format (Q8_0, Q4_K, …), dequantized as ggml does.
        case ggml(GGMLType)
    }

    public let rows: Int
    public let columns: Int
    let storage: Storage

    enum Storage {
        /// Rows of `rowBytes` bytes in a mapped file; `rowOrder[r]` is the
        /// stored row holding logical row r (llama.cpp's q/k permutation),
        /// `nil` for the identity. `owner` keeps the mapping alive.
        case mapped(base: UnsafeRawPointer, rowBytes: Int, encoding: Encoding, rowOrder: [Int]?, owner: AnyObject)
        /// Widened values, read in place.
        case resident(FloatBuffer)
    }

    /// A matrix over the bytes of a safetensors tensor (f32, f16 or bf16).
    init(_ file: SafeTensorsFile, _ entry: SafeTensorsEntry, rows: Int, columns: Int) throws {
        let encoding: Encoding
        switch entry.dtype {
        case .f32: encoding = .float32
        case .f16: encoding = .float16
        case .bf16: encoding = .bfloat16
        default:
            throw FormatError(
                .unsupported, "weight dtype \(entry.dtype.rawValue) is not supported (f32, f16, bf16)", path: file.path,
                location: entry.name)
        }
        self.rows = rows
        self.columns = columns
        let bytes = file.bytes(of: entry)
        storage = .mapped(
            base: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, rowBytes: columns * entry.dtype.byteSize,
            encoding: encoding, rowOrder: nil, owner: file)
    }

    /// A matrix over the bytes of a GGUF tensor (ne = [columns, rows]).
    ///
    /// - Parameter rowOrder: the stored row of each logical row, to undo a
    ///   permutation the converter applied (llama.cpp's q/k rows).
    init(_ file: GGUFFile, _ tensor: GGUFTensorInfo, rowOrder: [Int]? = nil) throws {
        try file.requireSupported(tensor)
        let encoding: Encoding
        switch tensor.type {
        case .f32: encoding = .float32
        case .f16: encoding = .float16
        case .bf16: encoding = .bfloat16
        default: encoding = .ggml(tensor.type)
        }
        rows = tensor.rows
        columns = tensor.columns
        let bytes = file.bytes(of: tensor)
        storage = .mapped(
            base: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, rowBytes: tensor.rowBytes,
            encoding: encoding, rowOrder: rowOrder, owner: file)
    }

    /// A matrix that owns `values` (rows × columns).
    init(resident values: FloatBuffer, rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        storage = .resident(values)
    }

    /// The widened values when this matrix holds them, else `nil`.
    public var residentValues: UnsafePointer<Float>? {
        if case .resident(let buffer) = storage { return UnsafePointer(buffer.p) }
        return nil
    }

    /// Bytes the matrix would take widened.
    public var widenedBytes: Int { rows * columns * MemoryLayout<Float>.stride }

    /// Widens rows `range` into `destination` (range.count × columns floats).
    public func widen(rows range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let n = columns
        switch storage {
        case .resident(let buffer):
            destination.update(from: buffer.p + range.lowerBound * n, count: range.count * n)
        case .mapped(let base, let rowBytes, let encoding, nil, _):
            StoredMatrix.widen(base + range.lowerBound * rowBytes, encoding, count: range.count * n, into: destination)
        case .mapped(let base, let rowBytes, let encoding, let rowOrder, _):
            for (i, r) in range.enumerated() {
                let source = base + (rowOrder?[r] ?? r) * rowBytes
                StoredMatrix.widen(source, encoding, count: n, into: destination + i * n)
            }
        }
    }

    /// Widens the whole matrix into `destination`, over all cores when `parallel`.
    public func widenAll(into destination: UnsafeMutablePointer<Float>, parallel: Bool) {
        widen(rows: 0..<rows, into: destination, parallel: parallel)
    }

    /// Widens rows `range` into `destination`, split over all cores when `parallel`.
    public func widen(rows range: Range<Int>, into destination: UnsafeMutablePointer<Float>, parallel: Bool) {
        guard parallel else { return widen(rows: range, into: destination) }
        let target = SharedPointer(destination)
        parallelChunks(range.count) { chunk in
            self.widen(
                rows: (range.lowerBound + chunk.lowerBound)..<(range.lowerBound + chunk.upperBound),
                into: target.p + chunk.lowerBound * self.columns)
        }
    }

    /// A copy that owns its widened values.
    func widened() -> StoredMatrix {
        if case .resident = storage { return self }
        let buffer = FloatBuffer(rows * columns)
        widenAll(into: buffer.p, parallel: true)
        return StoredMatrix(resident: buffer, rows: rows, columns: columns)
    }

    /// The values of one row encoding, little-endian and possibly unaligned
    /// (a safetensors header need not pad the data to the element size).
    @inline(__always)
    static func widen(
        _ source: UnsafeRawPointer, _ encoding: Encoding, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        switch encoding {
        case .float32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bfloat16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: FloatBits.f32(fromBF16: bits))
            }
        case .float16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: FloatBits.f32(fromF16: bits))
            }
        case .ggml(let type):
            type.dequantize(source, count: count, into: destination)
        }
    }
}

/// An owned buffer of floats, freed with its last reference.
public final class FloatBuffer: @unchecked Sendable {
    public let p: UnsafeMutablePointer<Float>
    public let count: Int

    public init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: Swift.max(count, 1))
    }

    deinit { p.deallocate() }
}
