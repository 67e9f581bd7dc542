/// Comma-separated lists as options and text fields spell them (`1,0.5`,
/// `en,de`, `0-15=1,16-=0`).
///
/// An empty item (`1,,2`, a trailing comma, an empty string) is an error
/// rather than silently skipped: dropping it would shift every later item
/// onto the wrong input.
public enum CommaList {
    /// The items of `text`, trimmed of spaces and tabs; `nil` when the list or any item is empty.
    public static func items(_ text: String) -> [String]? {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map(trimmed)
        return items.contains(where: \.isEmpty) ? nil : items
    }

    /// `text` without leading and trailing spaces and tabs.
    public static func trimmed(_ text: Substring) -> String {
        var s = text
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
