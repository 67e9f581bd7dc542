import AdapterFormat
import Tensors

/// A small multilingual world for the shipped example and the study: English
/// and six related languages, a MASSIVE-style slot-filling task, general text
/// for pretraining, and parallel sentences, all deterministic from a seed.
///
/// The task is English-only in training; dev and test cover every language.
/// Parallel training data exists only between English and the aligned
/// languages, outside the task domain; held-out languages appear only in
/// pretraining (and in dev/test). Names and numbers are shared across
/// languages (transliterated in other scripts), and entities are re-mentioned
/// in the pretraining text so that a model can learn to copy them.
public struct WorldGenerator {
    public struct Sizes: Sendable {
        public var pretrainPerLanguage = 4000
        public var taskTrain = 2000
        public var devPerLanguage = 60
        public var testPerLanguage = 150
        public var parallelTrainPerLanguage = 800
        public var parallelTestPerLanguage = 100
        /// Parallel dev pairs per aligned language: the alignment and joint trainers' dev data.
        public var parallelDevPerLanguage = 40
        public init() {}
    }

    public let seed: UInt64
    public let sizes: Sizes
    public let languages: [WorldLanguage]

    public init(seed: UInt64, sizes: Sizes = Sizes(), languages: [WorldLanguage] = WorldLanguage.all) {
        self.seed = seed
        self.sizes = sizes
        self.languages = languages
    }

    // MARK: - Vocabulary

    static let fillers: [String: [String]] = [
        "time": ["seven am", "eight pm", "noon", "six thirty", "nine pm", "ten am", "five pm", "midnight"],
        "date": ["today", "tomorrow", "monday", "friday", "sunday", "this weekend", "next week"],
        "place_name": ["Paris", "Berlin", "Lima", "Oslo", "Tokyo", "Cairo", "Rome", "Dakar", "Quito", "Hanoi"],
        "person": ["Anna", "Omar", "Lena", "Ravi", "Sofia", "Kenji", "Maria", "Tomas", "Ines", "Yusuf"],
        "music_genre": ["jazz", "rock", "classical", "folk", "pop", "blues"],
        "food_type": ["pizza", "sushi", "soup", "rice", "bread", "noodles", "salad"],
        "number": ["2", "3", "4", "5", "6", "8"],
    ]

    /// An intent: verb, object and modifier phrases; `{label}` is a slot.
    struct Intent {
        let verb: String
        let object: String
        let modifiers: [String]
    }

    static let intents: [Intent] = [
        Intent(verb: "set", object: "an alarm", modifiers: ["for {time}", "{date}"]),
        Intent(verb: "wake", object: "me", modifiers: ["at {time}", "{date}"]),
        Intent(verb: "tell", object: "the weather", modifiers: ["in {place_name}", "{date}"]),
        Intent(verb: "play", object: "some {music_genre} music", modifiers: []),
        Intent(verb: "play", object: "the music", modifiers: ["in the kitchen"]),
        Intent(verb: "remind", object: "me", modifiers: ["to call {person}", "at {time}"]),
        Intent(verb: "book", object: "a table", modifiers: ["for {number} people", "{date}", "at {time}"]),
        Intent(verb: "order", object: "some {food_type}", modifiers: ["for {person}"]),
        Intent(verb: "add", object: "a meeting with {person}", modifiers: ["on {date}"]),
        Intent(verb: "find", object: "a train", modifiers: ["to {place_name}", "{date}"]),
        Intent(verb: "stop", object: "the music", modifiers: []),
        Intent(verb: "show", object: "my calendar", modifiers: ["for {date}"]),
    ]

    /// General sentences: subject, verb, object, modifier (`{label}` draws a filler).
    static let subjects = [
        "the dog", "the cat", "the child", "the teacher", "the farmer", "{person}", "{person}", "my friend",
    ]
    static let verbs = ["sees", "likes", "visits", "reads", "finds", "paints", "brings", "watches", "loves", "calls"]
    static let objects = [
        "the book", "the house", "the river", "the garden", "the city", "{place_name}", "{food_type}",
        "the old bridge", "a letter", "the market", "{person}",
    ]
    static let modifiers = [
        "in the morning", "every day", "near the river", "with {person}", "at {time}", "on {date}",
        "in {place_name}", "after the rain", "with great joy", "again",
    ]

    // MARK: - Generation

    /// A phrase in `language` with its slots: each filler is drawn once and
    /// rendered word by word, so the slot value is exactly the utterance's words.
    struct Phrase {
        var words: [String] = []
        var slots: [(label: String, words: [String])] = []
    }

    func render(
        _ template: String, in language: WorldLanguage, fills: inout [String: String], random: inout TrainingRandom
    ) -> Phrase {
        var phrase = Phrase()
        for token in template.split(separator: " ") {
            if token.hasPrefix("{") && token.hasSuffix("}") {
                let label = String(token.dropFirst().dropLast())
                let english = fills[label] ?? pick(WorldGenerator.fillers[label] ?? [label], &random)
                fills[label] = english
                let words = english.split(separator: " ").map { language.word(String($0)) }
                phrase.words += words
                phrase.slots.append((label, words))
            } else {
                phrase.words.append(language.word(String(token)))
            }
        }
        return phrase
    }

    func pick(_ options: [String], _ random: inout TrainingRandom) -> String {
        options[Int(random.next() % UInt64(options.count))]
    }

    /// One request of the task in `language`, with its annotation; `fills`
    /// fixes the English fillers so translations share them.
    func request(
        _ intent: Intent, in language: WorldLanguage, fills: inout [String: String],
        random: inout TrainingRandom
    ) -> (utterance: String, annotation: String) {
        let verb = render(intent.verb, in: language, fills: &fills, random: &random)
        let object = render(intent.object, in: language, fills: &fills, random: &random)
        let mods = intent.modifiers.map { render($0, in: language, fills: &fills, random: &random) }
        let parts: [Phrase]
        switch language.order {
        case .verbObject: parts = [verb, object] + mods
        case .objectVerb: parts = [object] + mods + [verb]
        case .verbModifiersObject: parts = [verb] + mods + [object]
        }
        let slots = parts.flatMap(\.slots)
        let annotation =
            slots.isEmpty
            ? "None" : slots.map { "\($0.label): \($0.words.joined(separator: " "))" }.joined(separator: "; ")
        return (parts.flatMap(\.words).joined(separator: " "), annotation)
    }

    /// One general sentence in `language` (with the given English fillers).
    func sentence(
        in language: WorldLanguage, subject: String, verb: String, object: String, modifier: String,
        fills: inout [String: String], random: inout TrainingRandom
    ) -> String {
        let s = render(subject, in: language, fills: &fills, random: &random)
        let v = render(verb, in: language, fills: &fills, random: &random)
        let o = render(object, in: language, fills: &fills, random: &random)
        let m = render(modifier, in: language, fills: &fills, random: &random)
        let parts: [Phrase]
        switch language.order {
        case .verbObject: parts = [s, v, o, m]
        case .objectVerb: parts = [s, o, m, v]
        case .verbModifiersObject: parts = [v, s, m, o]
        }
        return parts.flatMap(\.words).joined(separator: " ") + " ."
    }

    /// A random general sentence's template, shared across translations.
    func generalTemplate(_ random: inout TrainingRandom) -> (String, String, String, String) {
        (
            pick(WorldGenerator.subjects, &random), pick(WorldGenerator.verbs, &random),
            pick(WorldGenerator.objects, &random), pick(WorldGenerator.modifiers, &random)
        )
    }

    /// Every file of the world, as (name, JSON lines or document).
    public func files() -> [(name: String, rows: [JSONValue])] {
        let everyone = [WorldLanguage.english] + languages
        var random = TrainingRandom(seed: seed, stream: "world")
        func prompt(_ utterance: String) -> String { "Utterance: \(utterance)\nSlots:" }
        func taskRow(_ language: WorldLanguage, _ intent: Intent, _ random: inout TrainingRandom) -> JSONValue {
            var fills: [String: String] = [:]
            let r = request(intent, in: language, fills: &fills, random: &random)
            // The newline ends the answer: a model trained on it stops there when decoding.
            return [
                "prefix": .string(prompt(r.utterance)), "text": .string(" " + r.annotation + "\n"),
                "lang": .string(language.code),
                "utterance": .string(r.utterance),
            ]
        }

        // Pretraining: general sentences with entity re-mentions, and requests, in every language.
        var pretrain: [JSONValue] = []
        for language in everyone {
            for i in 0..<sizes.pretrainPerLanguage {
                var fills: [String: String] = [:]
                let text: String
                if i % 3 == 2 {
                    text =
                        request(
                            WorldGenerator.intents[Int(random.next() % UInt64(WorldGenerator.intents.count))],
                            in: language, fills: &fills, random: &random
                        ).utterance + " ."
                } else {
                    let (s, v, o, m) = generalTemplate(&random)
                    let first = sentence(
                        in: language, subject: s, verb: v, object: o, modifier: m, fills: &fills, random: &random)
                    // The same entities again: a model learns that names and places are copied.
                    let (_, v2, _, m2) = generalTemplate(&random)
                    let again = sentence(
                        in: language, subject: "{person}", verb: v2, object: "{place_name}", modifier: m2,
                        fills: &fills, random: &random)
                    text = first + " " + again
                }
                pretrain.append(["text": .string(text), "lang": .string(language.code)])
            }
        }
        random.shuffle(&pretrain)

        let intents = WorldGenerator.intents
        let train = (0..<sizes.taskTrain).map { _ in
            taskRow(.english, intents[Int(random.next() % UInt64(intents.count))], &random)
        }
        var dev: [JSONValue] = []
        var test: [JSONValue] = []
        for language in everyone {
            for _ in 0..<sizes.devPerLanguage {
                dev.append(taskRow(language, intents[Int(random.next() % UInt64(intents.count))], &random))
            }
            for _ in 0..<sizes.testPerLanguage {
                test.append(taskRow(language, intents[Int(random.next() % UInt64(intents.count))], &random))
            }
        }

        // Parallel sentences outside the task domain: training pairs for the aligned languages, test pairs for all.
        func pair(_ language: WorldLanguage, _ random: inout TrainingRandom) -> JSONValue {
            let (s, v, o, m) = generalTemplate(&random)
            var fills: [String: String] = [:]
            let foreign = sentence(
                in: language, subject: s, verb: v, object: o, modifier: m, fills: &fills, random: &random)
            let english = sentence(
                in: .english, subject: s, verb: v, object: o, modifier: m, fills: &fills, random: &random)
            return [
                "text_parallel_0": .string(foreign), "text_parallel_1": .string(english),
                "lang": .string(language.code),
            ]
        }
        var parallelTrain: [JSONValue] = []
        var parallelTest: [JSONValue] = []
        for language in languages {
            if language.aligned {
                for _ in 0..<sizes.parallelTrainPerLanguage { parallelTrain.append(pair(language, &random)) }
            }
            for _ in 0..<sizes.parallelTestPerLanguage { parallelTest.append(pair(language, &random)) }
        }
        random.shuffle(&parallelTrain)
        // Drawn last, so that adding them left every other file of a seed unchanged.
        var parallelDev: [JSONValue] = []
        for language in languages where language.aligned {
            for _ in 0..<sizes.parallelDevPerLanguage { parallelDev.append(pair(language, &random)) }
        }

        let manifest: JSONValue = [
            "seed": .int(Int(truncatingIfNeeded: seed)),
            "generator": .string(ToolInfo.identifier),
            "languages": .array(
                everyone.map { l in
                    [
                        "code": .string(l.code), "description": .string(l.description),
                        "order": .string(l.order.rawValue),
                        "script": .string(l.script.rawValue), "aligned": .bool(l.aligned),
                    ]
                }),
            "aligned": .array(languages.filter(\.aligned).map { .string($0.code) }),
            "held_out": .array(languages.filter { !$0.aligned }.map { .string($0.code) }),
            "files": [
                "pretrain.jsonl": .int(pretrain.count), "task_train.jsonl": .int(train.count),
                "task_dev.jsonl": .int(dev.count),
                "task_test.jsonl": .int(test.count), "parallel_train.jsonl": .int(parallelTrain.count),
                "parallel_test.jsonl": .int(parallelTest.count), "parallel_dev.jsonl": .int(parallelDev.count),
            ],
        ]
        return [
            ("pretrain.jsonl", pretrain), ("task_train.jsonl", train), ("task_dev.jsonl", dev),
            ("task_test.jsonl", test),
            ("parallel_train.jsonl", parallelTrain), ("parallel_test.jsonl", parallelTest),
            ("parallel_dev.jsonl", parallelDev),
            ("world.json", [manifest]),
        ]
    }
}
