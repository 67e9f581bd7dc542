import AdapterFormat
import ArgumentParser

/// Comma-separated option values (`--weights 1,0.5`, `--languages en,de`),
/// with one rule for every command: no empty items, numbers finite.
enum OptionList {
    /// The items of `text`; an empty list or item is a usage error naming the option.
    static func items(_ text: String, option: String) throws -> [String] {
        guard let items = CommaList.items(text) else {
            throw ValidationError("\(option) \"\(text)\": empty item in the comma-separated list")
        }
        return items
    }

    /// Finite numbers (write negative ones as `\(option)=-1,1`).
    static func numbers(_ text: String, option: String) throws -> [Double] {
        try items(text, option: option).map {
            guard let w = Double($0) else { throw ValidationError("\(option): \"\($0)\" is not a number") }
            guard w.isFinite else { throw ValidationError("\(option): \"\($0)\" is not finite") }
            return w
        }
    }
}

/// Side files a command writes besides its main output (reports, logs, charts).
enum OutputFiles {
    /// Checks each given path before any work (`/dev/stdout` is always writable).
    static func check(_ paths: [String?], force: Bool) throws {
        for path in paths.compactMap({ $0 }) where path != "/dev/stdout" {
            try FileSystem.checkOutput(path, kind: .file, overwrite: force)
        }
    }
}
