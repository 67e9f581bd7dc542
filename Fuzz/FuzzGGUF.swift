// libFuzzer target `gguf`: the GGUF reader and ggml dequantization.
//
// The input is a GGUF file, as it would be on disk. It is read with GGUFFile(file:). For a file
// the reader accepts, every metadata key is asked for with every typed getter (string, integer,
// float, bool, strings, integers, floats: each returns or throws), and every tensor's bytes are
// taken; a tensor of a supported type is dequantized whole (floats(of:)) and row by row
// (dequantize(_:rows:into:)), an unsupported one must throw from both. The target checks what a
// model loader relies on:
//   - metadataKeys and metadata hold the same keys, once each;
//   - alignment is a power of two and dataOffset a multiple of it, inside the file when there
//     are tensors;
//   - each tensor lies inside the data section, at an aligned offset, with byteCount =
//     rows × rowBytes, columns a multiple of the block size, elementCount = the product of its
//     dimensions, bytes(of:) of byteCount bytes, and no two tensors overlap;
//   - dequantizing row by row gives the same bits as dequantizing the whole tensor;
//   - every error is one line (a key or name with a line break is shown escaped).
// A violated check is a crash (fatalError); a thrown error is fine.

import AdapterFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file: GGUFFile
    do {
        file = try GGUFFile(file: MappedFile(bytes: Array(UnsafeBufferPointer(start: data, count: size))))
    } catch {
        FuzzLog.error(error)
        oneLine(error)
        return 0
    }
    func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { fatalError("GGUF accepted with \(what())") }
    }
    check(file.version == 2 || file.version == 3, "version \(file.version)")
    check(Set(file.metadataKeys).count == file.metadataKeys.count, "repeated keys \(file.metadataKeys)")
    check(Set(file.metadataKeys) == Set(file.metadata.keys), "keys \(file.metadataKeys) for \(file.metadata.keys)")
    for key in file.metadataKeys {
        let getters: [(String) throws -> Any?] = [
            file.string, file.integer, file.float, file.bool, file.strings, file.integers, file.floats,
        ]
        for get in getters {
            do {
                check(try get(key) != nil, "a getter returned nil for present key \(key)")
            } catch {
                check(error is FormatError, "\(key): \(type(of: error)) \(error)")
                oneLine(error)
            }
        }
    }
    let a = file.alignment
    check(a > 0 && a & (a - 1) == 0 && file.dataOffset % a == 0, "alignment \(a), data offset \(file.dataOffset)")
    if !file.tensors.isEmpty { check(file.dataOffset <= size, "data offset \(file.dataOffset) of \(size) bytes") }
    var names = Set<String>()
    for t in file.tensors {
        check(names.insert(t.name).inserted, "tensor \(t.name) twice")
        check(file.tensor(t.name) == t, "tensor(\"\(t.name)\")")
        check(t.type.isKnown && t.dimensions.count <= 4, "\(t.name): type \(t.type), dimensions \(t.dimensions)")
        check(t.columns == (t.dimensions.first ?? 1), "\(t.name): columns \(t.columns) of \(t.dimensions)")
        check(t.rows == t.dimensions.dropFirst().reduce(1, *), "\(t.name): rows \(t.rows) of \(t.dimensions)")
        check(t.columns % t.type.blockSize == 0, "\(t.name): \(t.columns) columns of \(t.type)")
        check(t.rows * t.rowBytes == t.byteCount, "\(t.name): \(t.byteCount) bytes")
        check(t.offset >= file.dataOffset && (t.offset - file.dataOffset) % a == 0, "\(t.name): offset \(t.offset)")
        check(t.offset + t.byteCount <= size, "\(t.name): bytes \(t.offset)..<\(t.offset + t.byteCount) of \(size)")
        check(file.bytes(of: t).count == t.byteCount, "\(t.name): bytes(of:)")
        var rows = [Float](repeating: 0, count: t.elementCount)
        do {
            let whole = try file.floats(of: t)
            check(t.type.isSupported && whole.count == t.elementCount, "\(t.name): \(whole.count) floats of \(t.type)")
            // With no columns there may be any number of (empty) rows.
            if t.columns > 0 {
                try rows.withUnsafeMutableBufferPointer { out in
                    for r in 0..<t.rows {
                        try file.dequantize(t, rows: r..<(r + 1), into: out.baseAddress! + r * t.columns)
                    }
                }
            }
            check(rows.map(\.bitPattern) == whole.map(\.bitPattern), "\(t.name): rows differ from the whole")
        } catch {
            check(!t.type.isSupported && error is FormatError, "\(t.name) of \(t.type): \(error)")
            oneLine(error)
        }
    }
    let placed = file.tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
    for (x, y) in zip(placed, placed.dropFirst()) {
        check(x.offset + x.byteCount <= y.offset, "tensors \(x.name) and \(y.name) overlap")
    }
    return 0
}
