/// A language of the example world: English words rewritten by systematic
/// sound and spelling changes (so related languages share subwords, as real
/// families do), a word order, and a script.
public struct WorldLanguage: Sendable, Equatable {
    public enum WordOrder: String, Sendable {
        /// verb, object, modifiers (English imperatives: "set an alarm for seven").
        case verbObject = "VO"
        /// object, modifiers, verb.
        case objectVerb = "OV"
        /// verb, modifiers, object.
        case verbModifiersObject = "VMO"
    }

    public enum Script: String, Sendable {
        case latin, cyrillic, greek
    }

    public let code: String
    public let description: String
    /// Ordered rewrites applied to every word but names and numbers.
    public let rewrites: [(String, String)]
    public let order: WordOrder
    public let script: Script
    /// Aligned languages have parallel data with English; held-out ones appear only in pretraining.
    public let aligned: Bool

    public static func == (a: WorldLanguage, b: WorldLanguage) -> Bool { a.code == b.code }

    /// English itself.
    public static let english = WorldLanguage(
        code: "en", description: "English", rewrites: [], order: .verbObject,
        script: .latin, aligned: true)

    /// Six languages: two close to English, two further (other word orders), two in other scripts.
    /// Each distance has one aligned and one held-out language.
    public static let all: [WorldLanguage] = [
        WorldLanguage(
            code: "xa", description: "close to English; th→d, w→v, c→k, sh→sch; VO",
            rewrites: [("th", "d"), ("sh", "sch"), ("w", "v"), ("ck", "k"), ("c", "k"), ("y", "ie")],
            order: .verbObject, script: .latin, aligned: true),
        WorldLanguage(
            code: "xb", description: "close to English; ee→ie, oo→u, ou→au, y→i, final e dropped; VO",
            rewrites: [("ee", "ie"), ("oo", "u"), ("ou", "au"), ("y", "i"), ("ck", "k"), ("e$", "")],
            order: .verbObject, script: .latin, aligned: false),
        WorldLanguage(
            code: "xc", description: "further; xa's changes plus ing→ung, a→o before n; OV",
            rewrites: [
                ("th", "d"), ("sh", "sch"), ("w", "v"), ("ck", "k"), ("c", "k"), ("ing", "ung"), ("an", "on"),
                ("y", "ie"),
            ],
            order: .objectVerb, script: .latin, aligned: true),
        WorldLanguage(
            code: "xd", description: "further; xb's changes plus s→z, final consonant + a; verb, modifiers, object",
            rewrites: [
                ("ee", "ie"), ("oo", "u"), ("ou", "au"), ("y", "i"), ("ck", "k"), ("s", "z"),
                ("([bcdfgklmnprtvz])$", "$1a"),
            ],
            order: .verbModifiersObject, script: .latin, aligned: false),
        WorldLanguage(
            code: "xe", description: "far; xc's forms written in Cyrillic; OV",
            rewrites: [
                ("th", "d"), ("sh", "sch"), ("w", "v"), ("ck", "k"), ("c", "k"), ("ing", "ung"), ("an", "on"),
                ("y", "ie"),
            ],
            order: .objectVerb, script: .cyrillic, aligned: true),
        WorldLanguage(
            code: "xf", description: "far; xd's forms written in Greek; verb, modifiers, object",
            rewrites: [
                ("ee", "ie"), ("oo", "u"), ("ou", "au"), ("y", "i"), ("ck", "k"), ("s", "z"),
                ("([bcdfgklmnprtvz])$", "$1a"),
            ],
            order: .verbModifiersObject, script: .greek, aligned: false),
    ]

    /// The word in this language. Names (capitalised) and numbers keep their
    /// spelling, only changing script, as real names are transliterated.
    public func word(_ english: String) -> String {
        let isName = english.first?.isUppercase == true
        let isNumber = english.first?.isNumber == true
        var w = english
        if !isName && !isNumber {
            for (from, to) in rewrites { w = WorldLanguage.rewrite(w, from, to) }
        }
        return isNumber ? w : WorldLanguage.transliterate(w, to: script)
    }

    /// One rewrite rule: a literal substring, `x$` at the end of the word, or
    /// `([letters])$` → `$1a` (append after a final letter of the class).
    static func rewrite(_ word: String, _ from: String, _ to: String) -> String {
        if from.hasPrefix("(["), from.hasSuffix("])$") {
            let letters = Set(from.dropFirst(2).dropLast(3))
            guard let last = word.last, letters.contains(last), word.count > 2 else { return word }
            return word + to.replacingOccurrences(of: "$1", with: "")
        }
        if from.hasSuffix("$") {
            let suffix = String(from.dropLast())
            guard word.hasSuffix(suffix), word.count > suffix.count + 2 else { return word }
            return String(word.dropLast(suffix.count)) + to
        }
        return word.replacingOccurrences(of: from, with: to)
    }

    static let cyrillic: [Character: String] = [
        "a": "а", "b": "б", "c": "ц", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и", "j": "й", "k": "к",
        "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в",
        "w": "в", "x": "кс", "y": "ы", "z": "з",
    ]
    static let greek: [Character: String] = [
        "a": "α", "b": "β", "c": "κ", "d": "δ", "e": "ε", "f": "φ", "g": "γ", "h": "η", "i": "ι", "j": "ι", "k": "κ",
        "l": "λ", "m": "μ", "n": "ν", "o": "ο", "p": "π", "q": "κ", "r": "ρ", "s": "σ", "t": "τ", "u": "υ", "v": "β",
        "w": "ω", "x": "ξ", "y": "υ", "z": "ζ",
    ]

    /// Letter by letter (case kept for the first letter of names).
    static func transliterate(_ word: String, to script: Script) -> String {
        let table: [Character: String]
        switch script {
        case .latin: return word
        case .cyrillic: table = cyrillic
        case .greek: table = greek
        }
        var out = ""
        for (i, ch) in word.enumerated() {
            let lower = Character(ch.lowercased())
            let mapped = table[lower] ?? String(ch)
            out += i == 0 && ch.isUppercase ? mapped.uppercased() : mapped
        }
        return out
    }
}
