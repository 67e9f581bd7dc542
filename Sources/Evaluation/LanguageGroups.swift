import AdapterFormat

/// Which languages an adapter saw in its task data and in its alignment data,
/// and so which languages of an evaluation are held out.
public struct LanguageGroups: Sendable, Equatable {
    public var task: [String]
    public var alignment: [String]

    public init(task: [String], alignment: [String]) {
        self.task = task
        self.alignment = alignment
    }

    /// From an adapter's metadata: a task adapter's languages are task
    /// languages, an alignment adapter's alignment languages; a joint
    /// adapter's are those its recipe's `task_languages` and
    /// `alignment_languages` name (`train joint` records them), else both;
    /// a merged adapter's come from the kinds and languages its lineage
    /// records for each input.
    public init(metadata: AdapterMetadata) {
        var task: [String] = []
        var alignment: [String] = []
        func add(_ kind: String?, _ languages: [String]) {
            switch kind {
            case "task": task += languages
            case "alignment": alignment += languages
            case "joint":
                task += languages
                alignment += languages
            default: break
            }
        }
        if metadata.kind == .merged, let inputs = metadata.lineage?["inputs"]?.arrayValue {
            for input in inputs {
                add(input["kind"]?.stringValue, input["languages"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
        } else if metadata.kind == .joint, let recipe = metadata.recipe,
            let taskLanguages = recipe["task_languages"]?.arrayValue?.compactMap(\.stringValue),
            let alignmentLanguages = recipe["alignment_languages"]?.arrayValue?.compactMap(\.stringValue)
        {
            task = taskLanguages
            alignment = alignmentLanguages
        } else {
            add(metadata.kind?.rawValue, metadata.languages)
        }
        self.task = task.uniqued()
        self.alignment = alignment.uniqued()
    }

    /// The union with another adapter's groups (a candidate given as several adapters).
    public func merged(with other: LanguageGroups) -> LanguageGroups {
        LanguageGroups(task: (task + other.task).uniqued(), alignment: (alignment + other.alignment).uniqued())
    }

    /// The evaluation's languages that neither the task nor the alignment data had.
    public func heldOut(among languages: [String]) -> [String] {
        languages.filter { !task.contains($0) && !alignment.contains($0) }
    }
}
