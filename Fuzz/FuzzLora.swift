// libFuzzer target `lora`: the `.lora` container reader and the adapter on top of it.
//
// Fuzz/run.sh builds AdapterFormat with -enable-testing, so the checksum
// fix-ups below may use the reader's internal helpers (`@testable import`).
// What is under test is only the public API: LoraFileAdapter(file:),
// .modules, .factors(of:), LoraContainerReader(file:) and .verifyAll(). Every input must end in a thrown error or a success.
//
// Checksums would stop a mutation-based fuzzer at the first XXH64 it cannot
// guess, so the first input byte selects a mode (its low two bits):
//   0  the remaining bytes are used verbatim (the real threat: any file);
//   1  the header XXH64 (bytes 24..<32) is recomputed over the declared
//      header bytes, so mutations reach the JSON and offset validation;
//   2, 3  every tensor's `stored_xxh64` and `xxh64` are recomputed and
//      written back into the header in place (same 16 hex digits, so no
//      length changes), then the header XXH64 as in mode 1, so mutations
//      reach the decoders (zstd, byte planes) and the adapter layer.
// The fix-ups are best-effort: anything they cannot make sense of is left
// as it is, and the reader then sees the unfixed bytes.

@testable import AdapterFormat
import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoraContainer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0] & 3
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if mode >= 2 { LoraFuzzFixup.fixTensorChecksums(&bytes) }
    if mode >= 1 { LoraFuzzFixup.fixHeaderChecksum(&bytes) }
    let file = MappedFile(bytes: bytes)
    do {
        let adapter = try LoraFileAdapter(file: file)
        for module in adapter.modules {
            let (a, b) = try adapter.factors(of: module)
            _ = try a.floats()
            _ = try b.floats()
            _ = module.scaling
        }
        _ = adapter.encodings
        _ = adapter.storedBytes + adapter.rawBytes
        _ = try adapter.contentHash()
    } catch {
        FuzzLog.error(error)
    }
    do {
        let reader = try LoraContainerReader(file: file)
        try reader.verifyAll()
    } catch {
        FuzzLog.error(error)
    }
    return 0
}

enum LoraFuzzFixup {
    static func readU64(_ b: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(b[at + i]) }
        return v
    }

    /// The declared header range, if it lies inside the buffer.
    static func headerRange(_ b: [UInt8]) -> Range<Int>? {
        guard b.count >= LoraContainer.preambleSize else { return nil }
        let h = readU64(b, 16)
        guard h <= UInt64(b.count - LoraContainer.preambleSize) else { return nil }
        return LoraContainer.preambleSize..<(LoraContainer.preambleSize + Int(h))
    }

    static func fixHeaderChecksum(_ b: inout [UInt8]) {
        guard let range = headerRange(b) else { return }
        let hash = b.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[range])) }
        for i in 0..<8 { b[24 + i] = UInt8(truncatingIfNeeded: hash >> UInt64(8 * i)) }
    }

    /// Byte offsets (just after the opening quote of the value) of every
    /// occurrence of `"<field>":"` in `b[range]`.
    static func valueOffsets(of field: String, in b: [UInt8], _ range: Range<Int>) -> [Int] {
        let needle = Array("\"\(field)\":\"".utf8)
        guard range.count >= needle.count else { return [] }
        var found: [Int] = []
        var i = range.lowerBound
        while i + needle.count <= range.upperBound {
            if b[i] == needle[0] && b[i..<(i + needle.count)].elementsEqual(needle) {
                found.append(i + needle.count)
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }

    static func writeHex(_ value: UInt64, into b: inout [UInt8], at offset: Int, limit: Int) {
        let hex = Array(XXH64.hex(value).utf8)
        guard offset + hex.count <= limit else { return }
        for (k, c) in hex.enumerated() { b[offset + k] = c }
    }

    static func fixTensorChecksums(_ b: inout [UInt8]) {
        guard let range = headerRange(b) else { return }
        guard let json = try? JSONValue(parsing: b[range]), case .object(let pairs) = json else { return }
        // Tensor entries in document order; the k-th `"stored_xxh64":"` / `"xxh64":"`
        // in the header text is taken to belong to the k-th entry (true for files
        // the writer made: compact JSON, metadata first). Mismatched counts: give up.
        let tensors = pairs.filter { $0.key != "__metadata__" }
        let storedAt = valueOffsets(of: "stored_xxh64", in: b, range)
        let rawAt = valueOffsets(of: "xxh64", in: b, range)
        guard storedAt.count == tensors.count, rawAt.count == tensors.count else { return }
        let dataStart = range.upperBound
        for (k, pair) in tensors.enumerated() {
            guard let entry = try? LoraContainerReader.parseEntry(pair.key, pair.value, path: "<fuzz>") else { continue }
            let lower = dataStart + entry.storedRange.lowerBound
            let (upper, overflow) = dataStart.addingReportingOverflow(entry.storedRange.upperBound)
            guard !overflow, upper <= b.count else { continue }
            let stored = Array(b[lower..<upper])
            writeHex(XXH64.hash(stored), into: &b, at: storedAt[k], limit: range.upperBound)
            // Same bounds as the reader's own decode; parseEntry has already
            // capped raw_length, so this allocates no more than the reader would.
            guard let raw = try? stored.withUnsafeBytes({ try LoraContainerReader.decode($0, entry: entry) }) else { continue }
            writeHex(XXH64.hash(raw), into: &b, at: rawAt[k], limit: range.upperBound)
        }
    }
}
