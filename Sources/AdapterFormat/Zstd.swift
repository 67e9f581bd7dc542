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

    /// Decompresses exactly one frame that must expand to exactly `rawCount` bytes.
    ///
    /// The frame's own content size is checked against `rawCount` first, and
    /// the output buffer is never larger than `rawCount`, so a hostile frame
    /// cannot make it allocate or write more than the caller already allowed.
    public static func decompress(_ source: UnsafeRawBufferPointer, rawCount: Int) throws -> [UInt8] {
        guard source.count > 0 else { throw FormatError(.malformed, "empty zstd frame") }
        let frameSize = ZSTD_findFrameCompressedSize(source.baseAddress, source.count)
        guard ZSTD_isError(frameSize) == 0, frameSize == source.count else {
            throw FormatError(.malformed, "stored bytes are not exactly one zstd frame")
        }
        let contentSize = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        guard contentSize == UInt64(rawCount) else {
            throw FormatError(.malformed, "zstd frame declares \(contentSize) bytes, expected \(rawCount)")
        }
        var out = [UInt8](repeating: 0, count: rawCount)
        let produced = out.withUnsafeMutableBytes { dst in
            ZSTD_decompress(dst.baseAddress, rawCount, source.baseAddress, source.count)
        }
        guard ZSTD_isError(produced) == 0 else {
            throw FormatError(.malformed, "zstd: \(String(cString: ZSTD_getErrorName(produced)))")
        }
        guard produced == rawCount else {
            throw FormatError(.malformed, "zstd frame produced \(produced) bytes, expected \(rawCount)")
        }
        return out
    }
}
