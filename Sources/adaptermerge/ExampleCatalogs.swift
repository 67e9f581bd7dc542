import ArgumentParser
import AdapterFormat
import ExampleWorld

extension Example {
    struct Catalogs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "catalogs",
            abstract: "Build parallel data and a translation task from the machine's gettext catalogs.",
            discussion: """
                Every Debian system carries human translations of its programs'
                messages: the .mo catalogs under /usr/share/locale/<lang>/LC_MESSAGES/
                (coreutils, apt, dpkg, bash, grep, git, glib, gtk, iso-codes, …). This
                keeps the messages translated into every requested language, drops
                contexts, plurals, format strings, markup, accelerators, multi-line
                and very short or long messages, de-duplicates them by their English
                text, and splits them 80/10/10 by a seeded hash of it, so a message
                lands in one split for every language.

                Files: parallel_{train,dev,test}.jsonl (text_parallel_0 = the
                translation, text_parallel_1 = the English msgid, lang) and
                task_{train,dev,test}.jsonl (prefix "Translate to English: …\\nEnglish:",
                text " <English>", lang), and catalogs.json: counts, what was dropped
                and why, and the packages and versions the catalogs came from. The
                text carries its packages' licences and is built on your machine,
                never shipped.

                Examples:
                  adaptermerge example catalogs -o catalogs/ --languages de,fr,es,ru,el,zh_CN
                  adaptermerge example catalogs -o small/ --languages de,uk --seed 2
                """
        )

        @Option(name: .shortAndLong, help: "The output directory.") var output: String
        @Option(help: "Comma-separated locale names as under the locale directory (de, pt_BR, zh_CN, …).")
        var languages: String
        @Option(help: "Where the catalogs are.") var localeDirectory = "/usr/share/locale"
        @Option(help: "Seed of the train/dev/test split.") var seed: UInt64 = 1
        @OptionGroup var replace: ForceOption

        func validate() throws {
            let items = try OptionList.items(languages, option: "--languages")
            guard items.allSatisfy({ !$0.contains("/") && !$0.hasPrefix(".") }) else {
                throw ValidationError("--languages takes locale names, not paths")
            }
        }

        func run() throws {
            try FileSystem.checkOutput(output, kind: .directory(marker: "catalogs.json"), overwrite: replace.force)
            let catalogs = try TranslationCatalogs(
                languages: try OptionList.items(languages, option: "--languages"), localeDirectory: localeDirectory,
                seed: seed)
            let files = catalogs.files(packages: DebianPackages.owning(catalogs.catalogFiles))
            try ExampleFiles.write(files, to: output, marker: "catalogs.json", overwrite: replace.force)
            print(
                "\(catalogs.summary.kept) messages from \(catalogs.summary.domains.count) catalogs in \(catalogs.languages.joined(separator: ", "))"
            )
            for (name, rows) in files where name.hasSuffix(".jsonl") { print("\(name): \(rows.count) rows") }
            print("wrote \(output)")
        }
    }
}

/// Writes an example's files into a directory swapped in whole: `.json`
/// files pretty-printed, `.jsonl` one compact row a line.
enum ExampleFiles {
    static func write(_ files: [(name: String, rows: [JSONValue])], to output: String, marker: String, overwrite: Bool)
        throws
    {
        let out = try AtomicDirectoryWriter(destination: output, overwrite: overwrite, marker: marker)
        for (name, rows) in files {
            let text =
                name.hasSuffix(".json")
                ? rows.map { $0.prettyText() + "\n" }.joined()
                : rows.map { $0.compactText + "\n" }.joined()
            try AtomicFileWriter.write(text, to: out.path(name), overwrite: true)
        }
        try out.commit()
    }
}
