import ArgumentParser
import AdapterFormat

/// An adapter on the command line, `path[:weight]`, like llama.cpp's `--lora-scaled`.
struct AdapterSpec: ExpressibleByArgument, Sendable {
    let path: String
    let weight: Double
    /// As given, for reports.
    let text: String

    /// A colon followed by a number is a weight; any other colon is part of the path.
    init?(argument: String) {
        text = argument
        if let colon = argument.lastIndex(of: ":"), let w = Double(argument[argument.index(after: colon)...]) {
            guard w.isFinite else { return nil }
            path = String(argument[..<colon])
            weight = w
        } else {
            path = argument
            weight = 1
        }
    }

    static var defaultCompletionKind: CompletionKind { .file() }

    /// The adapter, opened once, with its weight.
    func open() throws -> (source: any AdapterSource, weight: Double) {
        (try AdapterReader.open(path), weight)
    }
}
