/// GPT-2's reversible map between bytes and printable Unicode scalars.
///
/// ByteLevel BPE works on text where every byte is one visible character:
/// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100
/// onwards. Tokens in `tokenizer.json` are spelled in these characters.
public enum ByteLevel {
    /// `scalars[b]` is the character for byte `b`.
    public static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte for each mapped scalar value (scalar value → byte).
    public static let bytes: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in scalars.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The mapped spelling of UTF-8 bytes.
    public static func encode<S: Sequence>(_ utf8: S) -> String where S.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in utf8 { out.append(scalars[Int(b)]) }
        return String(out)
    }

    /// The bytes a mapped spelling stands for; characters outside the map
    /// (which a valid vocabulary never has) are kept as their own UTF-8.
    public static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            if let b = bytes[s.value] { out.append(b) } else { out.append(contentsOf: Array(String(s).utf8)) }
        }
        return out
    }
}
