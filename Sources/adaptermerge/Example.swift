import ArgumentParser

/// `example`: the generated world, its tokenizer, and the study made from it.
struct Example: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate example data, and summarize the study made from it.",
        subcommands: [World.self, Catalogs.self, TokenizerCommand.self, Study.self]
    )
}
