extension Array where Element: Hashable {
    /// The elements without repeats, each where it first appears (language
    /// lists keep the order of the data they came from).
    public func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
