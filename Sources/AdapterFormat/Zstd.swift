import CZstd

/// Thin, checked wrappers over libzstd's one-shot API.
public enum Zstd {
    /// The default compression level of the `.lora` writer.
    public static let defaultLevel: Int32 = 3

    /// The largest ratio one zstd frame can reach (a 128 KiB RLE block in a
    /// few bytes). A declared raw length beyond it is a lie, refused before
    /// anything is allocated.
    public static let maximumRatio = 32_768

    /// Compresses `source` into one frame with its content size recorded.
    public static func compress(_ source: UnsafeRawBufferPointer, level: Int32 = defaultLevel) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, source.baseAddress, source.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw FormatError(.io, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        out.removeSubrange(written...)
        return out
    }

    /// Compresses `source` into one frame of literal-only blocks: every
    /// 128 KiB block is Huffman-coded (or stored, or RLE) with no LZ matches.
    ///
    /// This is ZipNN's method for byte planes. An exponent plane has few
    /// distinct values but short repeats, so zstd's match finder at fast
    /// levels spends bits on matches that cost more than plain entropy coding
    /// (2.6–2.7× at levels 1–9 against 3.2× here, near the entropy bound), and
    /// it runs several times faster. The output is an ordinary zstd frame with
    /// its content size, decoded by ``decompress(_:rawCount:)``.
    public static func compressLiterals(_ source: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard let cctx = ZSTD_createCCtx() else { throw FormatError(.io, "zstd: cannot create a context") }
        defer { ZSTD_freeCCtx(cctx) }
        let bound = ZSTD_compressBound(source.count)
        var noSequences = ZSTD_Sequence(offset: 0, litLength: 0, matchLength: 0, rep: 0)
        var failure: Error?
        let out = [UInt8](unsafeUninitializedCapacity: bound) { dst, initialized in
            // With no sequences, the whole input is literals (zstd.h, ZSTD_compressSequences).
            let written = ZSTD_compressSequences(
                cctx, dst.baseAddress, bound, &noSequences, 0, source.baseAddress, source.count)
            if ZSTD_isError(written) != 0 {
                failure = FormatError(
                    .io, "zstd literal compression failed: \(String(cString: ZSTD_getErrorName(written)))")
                initialized = 0
            } else {
                initialized = written
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Decompresses exactly one frame that must expand to exactly `rawCount` bytes.
    ///
    /// The frame's own content size is checked against `rawCount` first, and
    /// the output buffer is never larger than `rawCount`, so a hostile frame
    /// cannot make it allocate or write more than the caller already allowed.
    public static func decompress(_ source: UnsafeRawBufferPointer, rawCount: Int) throws -> [UInt8] {
        var failure: Error?
        let out = [UInt8](unsafeUninitializedCapacity: rawCount) { buffer, initialized in
            do {
                try decompress(source, into: UnsafeMutableRawBufferPointer(buffer))
                initialized = rawCount
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Decompresses exactly one frame into `destination`, which it must fill exactly.
    public static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer)
        throws
    {
        let rawCount = destination.count
        guard source.count > 0 else { throw FormatError(.malformed, "empty zstd frame") }
        let frameSize = ZSTD_findFrameCompressedSize(source.baseAddress, source.count)
        guard ZSTD_isError(frameSize) == 0, frameSize == source.count else {
            throw FormatError(.malformed, "stored bytes are not exactly one zstd frame")
        }
        let contentSize = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        guard contentSize == UInt64(rawCount) else {
            throw FormatError(.malformed, "zstd frame declares \(contentSize) bytes, expected \(rawCount)")
        }
        let produced = ZSTD_decompress(destination.baseAddress, rawCount, source.baseAddress, source.count)
        guard ZSTD_isError(produced) == 0 else {
            throw FormatError(.malformed, "zstd: \(String(cString: ZSTD_getErrorName(produced)))")
        }
        guard produced == rawCount else {
            throw FormatError(.malformed, "zstd frame produced \(produced) bytes, expected \(rawCount)")
        }
    }
}
