import ArgumentParser
import AdapterFormat
import Transformer

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize text with a model's tokenizer (tokenizer.json or a GGUF file's), as its reference does.",
        discussion: """
            Prints the token ids and pieces of the text, with the BOS/EOS the
            tokenizer's post-processor (or tokenizer_config.json) adds.

            Examples:
              adaptermerge tokenize --model examples/tiny-llama/model "Hello, world"
              adaptermerge tokenize --model model/ "Grüße" --json --no-special-tokens
            """
    )

    @Option(help: "A model directory with tokenizer.json (and tokenizer_config.json), or a GGUF file.")
    var model: String

    @Argument(help: "The text to tokenize.")
    var text: String

    @Flag(help: "Leave out BOS/EOS.")
    var noSpecialTokens = false

    @OptionGroup var format: JSONOption

    func run() throws {
        let tokenizer = try Tokenizer(model: model)
        let ids: [Int]
        do {
            ids = try tokenizer.encode(text, addSpecialTokens: !noSpecialTokens)
        } catch let e as TokenizerError {
            throw FormatError(
                .invalidContent, "cannot tokenize the text argument: \(e.message)",
                path: ModelPath.isGGUF(model) ? model : FileSystem.join(model, "tokenizer.json"))
        }
        let pieces = ids.map { tokenizer.token(for: $0) ?? "?" }
        if format.json {
            let doc: JSONValue = [
                "ids": .array(ids.map { .int($0) }),
                "pieces": .array(pieces.map { .string($0) }),
                "decoded": .string(tokenizer.decode(ids)),
            ]
            print(doc.prettyText())
        } else {
            print("\(ids.count) tokens")
            for id in ids {
                print(Format.padLeft(String(id), 8) + "  " + (tokenizer.readable(id) ?? "?").debugDescription)
            }
        }
    }
}
