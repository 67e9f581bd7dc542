import AdapterFormat
import Foundation

/// Human translations from the machine itself: the gettext catalogs (`.mo`)
/// that Debian's packages install under `/usr/share/locale/<lang>/LC_MESSAGES/`,
/// made into parallel data and a translate-into-English task.
///
/// A message is kept when every requested language translates it (the same
/// msgid in the same domain) and it is plain text: no context, no plural, no
/// format directive (`%s`, `%1$d`, `%(name)s`, `{0}`, `${x}`), no markup or
/// entity, no accelerator (`_File`, `&Open`), one line, 12 to 160 characters
/// of English, and a translation that is not the English itself. Messages
/// are de-duplicated by their English text (the first domain in name order
/// keeps it), then split into train, dev and test by a hash of the English
/// text and the seed, so a message lands in one split for every language.
public struct TranslationCatalogs {
    /// What a run read, kept and dropped, for `catalogs.json`.
    public struct Summary: Sendable {
        public var domains: [String] = []
        public var dropped: [String: Int] = [:]
        public var kept = 0
        public var skippedFiles: [String] = []
    }

    /// One kept message: the English msgid and its translation per language.
    public struct Entry: Sendable {
        public let english: String
        public let domain: String
        public let translations: [String: String]
    }

    public let languages: [String]
    public let localeDirectory: String
    public let seed: UInt64
    public private(set) var entries: [Entry] = []
    public private(set) var summary = Summary()

    public static let shortest = 12
    public static let longest = 160

    /// Reads every requested language's catalogs (`.mo` files that are not UTF-8 are skipped and listed).
    public init(languages: [String], localeDirectory: String = "/usr/share/locale", seed: UInt64 = 1) throws {
        guard !languages.isEmpty else {
            throw FormatError(.invalidContent, "no languages given", path: localeDirectory)
        }
        self.languages = languages
        self.localeDirectory = localeDirectory
        self.seed = seed
        // domain → msgid → translation, per language.
        var byLanguage: [String: [String: [String: String]]] = [:]
        for language in languages {
            let directory = FileSystem.join(FileSystem.join(localeDirectory, language), "LC_MESSAGES")
            guard FileSystem.isDirectory(directory) else {
                throw FormatError(
                    .invalidContent, "no catalogs for \(language) (install the packages' translations?)",
                    path: directory)
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mo") }
            var domains: [String: [String: String]] = [:]
            for name in names.sorted() {
                let path = FileSystem.join(directory, name)
                let file: MOFile
                do { file = try MOFile(path: path) } catch let error as FormatError where error.code == .unsupported {
                    summary.skippedFiles.append(path)
                    continue
                }
                if let charset = file.charset, charset.uppercased() != "UTF-8" {
                    summary.skippedFiles.append(path)
                    continue
                }
                var messages: [String: String] = [:]
                for m in file.messages where !m.translation.isEmpty { messages[m.original] = m.translation }
                domains[String(name.dropLast(3))] = messages
            }
            byLanguage[language] = domains
        }
        let first = languages[0]
        let shared = Set(byLanguage[first]?.keys ?? [:].keys).filter { d in
            languages.allSatisfy { byLanguage[$0]?[d] != nil }
        }
        summary.domains = shared.sorted()
        var seen = Set<String>()
        for domain in summary.domains {
            for (original, _) in (byLanguage[first]?[domain] ?? [:]).sorted(by: { $0.key < $1.key }) {
                var translations: [String: String] = [:]
                for language in languages {
                    guard let t = byLanguage[language]?[domain]?[original] else { break }
                    translations[language] = t
                }
                guard translations.count == languages.count else {
                    summary.dropped["not translated into every language", default: 0] += 1
                    continue
                }
                if let reason = TranslationCatalogs.rejection(original, translations) {
                    summary.dropped[reason, default: 0] += 1
                    continue
                }
                guard seen.insert(original).inserted else {
                    summary.dropped["duplicate", default: 0] += 1
                    continue
                }
                entries.append(Entry(english: original, domain: domain, translations: translations))
            }
        }
        summary.kept = entries.count
    }

    /// Why a message is not plain text worth translating, or nil.
    static func rejection(_ original: String, _ translations: [String: String]) -> String? {
        if original.contains("\u{04}") { return "context" }
        if original.contains("\0") || translations.values.contains(where: { $0.contains("\0") }) { return "plural" }
        let all = [original] + translations.values.sorted()
        if all.contains(where: { $0.contains("\n") || $0.contains("\t") || $0.contains("\r") }) { return "multi-line" }
        let count = original.count
        if count < shortest { return "too short" }
        if count > longest { return "too long" }
        for text in all {
            if text.range(
                of:
                    #"%(\d+\$)?[-+ #0']*(\d+|\*)?(\.(\d+|\*))?(hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcsSpnm%]|%\([A-Za-z_]+\)[sd]|%[A-Za-z]"#,
                options: .regularExpression) != nil
                || text.range(of: #"\{[0-9A-Za-z_]*\}|\$\{?[A-Za-z_]"#, options: .regularExpression) != nil
            {
                return "format directive"
            }
            if text.range(of: #"</?[A-Za-z][^>]*>|&[A-Za-z]+;|&#[0-9]+;"#, options: .regularExpression) != nil {
                return "markup"
            }
            if text.range(of: #"(^|[\s(])_[[:alnum:]]|&[[:alnum:]]"#, options: .regularExpression) != nil {
                return "accelerator"
            }
        }
        if translations.values.contains(where: { $0 == original }) { return "left in English" }
        return nil
    }

    /// The split of a message: 80 % train, 10 % dev, 10 % test, by XXH64 of its English text.
    public func split(of entry: Entry) -> String {
        let bucket = XXH64.hash(Array(entry.english.utf8), seed: seed) % 10
        return bucket == 0 ? "test" : bucket == 1 ? "dev" : "train"
    }

    /// The prompt of the translation task for a text in `language`.
    public static func prompt(_ text: String) -> String { "Translate to English: \(text)\nEnglish:" }

    /// The files of `example catalogs`: parallel and task JSON lines per split, and `catalogs.json`.
    public func files(packages: [JSONValue]) -> [(name: String, rows: [JSONValue])] {
        var parallel: [String: [JSONValue]] = ["train": [], "dev": [], "test": []]
        var task: [String: [JSONValue]] = ["train": [], "dev": [], "test": []]
        for entry in entries {
            let split = split(of: entry)
            for language in languages {
                guard let text = entry.translations[language] else { continue }
                parallel[split, default: []].append([
                    "text_parallel_0": .string(text), "text_parallel_1": .string(entry.english),
                    "lang": .string(language),
                ])
                task[split, default: []].append([
                    "prefix": .string(TranslationCatalogs.prompt(text)), "text": .string(" " + entry.english),
                    "lang": .string(language),
                ])
            }
        }
        let splits = ["train", "dev", "test"]
        var counts: [(String, JSONValue)] = []
        for s in splits { counts.append(("\(s) messages", .int(entries.filter { split(of: $0) == s }.count))) }
        let manifest: JSONValue = [
            "source": .string(
                "gettext catalogs (.mo) under \(localeDirectory): human translations from Debian's packages"),
            "languages": .array(languages.map { .string($0) }),
            "seed": .int(Int(seed)),
            "messages": .object(counts),
            "kept": .int(summary.kept),
            "dropped": .object(summary.dropped.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }),
            "domains": .array(summary.domains.map { .string($0) }),
            "skipped_files": .array(summary.skippedFiles.map { .string($0) }),
            "packages": .array(packages),
            "filters": .string(
                "no context, plural, format directive, markup, accelerator, multi-line; English \(TranslationCatalogs.shortest)-\(TranslationCatalogs.longest) characters; de-duplicated by English; split by XXH64(English, seed) % 10: 0 test, 1 dev, else train"
            ),
        ]
        var files: [(name: String, rows: [JSONValue])] = [("catalogs.json", [manifest])]
        for s in splits {
            files.append(("parallel_\(s).jsonl", parallel[s] ?? []))
            files.append(("task_\(s).jsonl", task[s] ?? []))
        }
        return files
    }

    /// The `.mo` files the kept domains came from, for `packages`.
    public var catalogFiles: [String] {
        languages.flatMap { language in
            summary.domains.map {
                FileSystem.join(FileSystem.join(FileSystem.join(localeDirectory, language), "LC_MESSAGES"), $0 + ".mo")
            }
        }
    }
}
