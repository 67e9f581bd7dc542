// libFuzzer target `jsonl`: JSON-lines data files (training and scoring rows).
//
// The input is the file's bytes. JSONLines.parse(_:path:) splits it into
// lines (LF, with an optional CR before it; blank lines skipped), parses each
// as a JSON object and checks the text fields' types; the same bytes are then
// parsed with checkingTypes: false and each row checked on its own
// (checkTextFields(), as a reader that skips bad rows does). Every accepted
// row's fields are read the way the trainers and the scorer read them:
// string("prefix"), string("text"), string("text_parallel_0"),
// optionalString("lang"), then tokens("text", ..., maxLength: 64) and
// scoringExample(tokenizer:maxLength: 64) with a fixed tokenizer (the
// committed seed Fuzz/corpus/tokenizer/llama.tok: a cut-down Llama 3 style
// vocabulary; skipped when that file is missing). Each row's line number must
// lie within the file and increase. Any thrown error is fine (they are
// FormatErrors naming the file and line); a trap, ASan report, hang or
// out-of-memory is a finding.

import AdapterFormat
import Transformer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONLines(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lines = bytes.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
    do {
        let rows = try JSONLines.parse(bytes, path: "data.jsonl")
        var previous = 0
        for row in rows {
            if !(row.line > previous && row.line <= lines) {
                fatalError("row at line \(row.line) after line \(previous) in a file of \(lines) lines")
            }
            previous = row.line
            JSONLinesFuzz.read(row)
        }
    } catch {
        FuzzLog.error(error)
    }
    do {
        for row in try JSONLines.parse(bytes, path: "data.jsonl", checkingTypes: false) {
            do {
                try row.checkTextFields()
            } catch {
                FuzzLog.error(error)
            }
        }
    } catch {
        FuzzLog.error(error)
    }
    return 0
}

enum JSONLinesFuzz {
    static func read(_ row: DataRow) {
        for key in ["prefix", "text", "text_parallel_0"] {
            do {
                _ = try row.string(key)
            } catch {
                FuzzLog.error(error)
            }
        }
        _ = row.optionalString("lang")
        guard let tokenizer else { return }
        do {
            _ = try row.tokens("text", tokenizer: tokenizer, maxLength: 64)
            _ = try row.scoringExample(tokenizer: tokenizer, maxLength: 64)
        } catch {
            FuzzLog.error(error)
        }
    }

    /// The tokenizer.json and tokenizer_config.json parts of the tokenizer seed.
    static let tokenizer: Tokenizer? = {
        guard let f = fopen("Fuzz/corpus/tokenizer/llama.tok", "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count >= 2, let json = try? JSONValue(parsing: parts[0]) else { return nil }
        return try? Tokenizer(json: json, config: try? JSONValue(parsing: parts[1]))
    }()
}
