// libFuzzer target `mo`: the gettext catalog (.mo) reader behind `example catalogs`.
//
// The input is a .mo file as it would be under /usr/share/locale. It is read with
// MOFile(bytes:path:). The target checks what the catalog builder relies on:
//   - an accepted file's messages are at most the count its header declares (the header entry
//     left out), none with an empty msgid;
//   - context and plural are read from the msgid as stored (context before \u{04}, plural after
//     a NUL), and a message with a plural has a NUL in its msgid;
//   - reading the same bytes twice gives the same messages (the reader keeps no state);
//   - every error is a FormatError of one line.
// A violated check is a crash (fatalError); a thrown error is fine.

import AdapterFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMO(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let file: MOFile
    do {
        file = try MOFile(bytes: bytes, path: "fuzz.mo")
    } catch {
        FuzzLog.error(error)
        if !(error is FormatError) { fatalError("not a FormatError: \(type(of: error)) \(error)") }
        oneLine(error)
        return 0
    }
    func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { fatalError(".mo accepted with \(what())") }
    }
    // The count sits at byte 8 in the file's byte order; both orders are read here independently.
    let little = bytes[0] == 0xDE
    let declared = (0..<4).reduce(0) { n, i in n | Int(bytes[8 + (little ? i : 3 - i)]) << (8 * i) }
    check(file.messages.count <= declared, "\(file.messages.count) messages for \(declared) declared")
    for m in file.messages {
        check(!m.original.isEmpty, "a message with an empty msgid (the header) kept")
        if let context = m.context {
            check(m.original.hasPrefix(context + "\u{04}"), "context \(context) of \(m.original)")
        }
        check(m.hasPlural == m.original.contains("\0"), "hasPlural of \(m.original)")
    }
    do {
        let again = try MOFile(bytes: bytes, path: "fuzz.mo")
        check(again.messages == file.messages && again.charset == file.charset, "a second reading differs")
    } catch {
        check(false, "a second reading threw \(error)")
    }
    return 0
}
