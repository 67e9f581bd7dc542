import ArgumentParser
import AdapterFormat

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an adapter's structure and every checksum.",
        discussion: """
            For a .lora file: magic, version, header checksum, offsets, alignment,
            padding, then every tensor is decoded and its XXH64 compared. For a PEFT
            directory: the safetensors structure rules and the config (safetensors
            carries no checksums). Exits 0 when everything holds, 1 naming the first bad
            tensor otherwise, and 2 when the input cannot be read at all.

            Examples:
              adaptermerge verify task.lora
              adaptermerge verify merged.lora && echo intact
            """
    )

    @Argument(help: "A .lora file or a PEFT adapter directory.")
    var adapter: String

    func run() throws {
        guard FileSystem.exists(adapter) else {
            throw FormatError(.io, "no such file or directory", path: adapter)
        }
        do {
            let source = try AdapterReader.open(adapter)
            var nonFinite = 0
            // Every tensor of a .lora file belongs to a module (the reader refuses strays), so
            // reading each module's factors decodes and checks every tensor exactly once.
            for module in source.modules {
                let (a, b) = try source.factors(of: module)
                nonFinite += a.nonFiniteCount + b.nonFiniteCount
            }
            let what =
                source.format == .lora
                ? "\(source.modules.count * 2) tensors, header and all checksums match"
                : "\(source.modules.count * 2) tensors, structure valid (safetensors has no checksums)"
            print("OK  \(adapter): \(what)")
            if nonFinite > 0 { Terminal.warning("\(adapter): \(nonFinite) NaN/Inf values in the factors") }
        } catch let error as FormatError where [.malformed, .checksumMismatch, .invalidContent].contains(error.code) {
            // Damage found (exit 1); a file that is not an adapter at all, or cannot be read, is an input error (exit 2).
            throw CheckFailure(message: "FAIL \(error.description)")
        }
    }
}
