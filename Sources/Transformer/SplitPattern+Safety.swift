import Foundation

/// Bounds on what a pre-tokenizer regex from a hostile `tokenizer.json` can cost.
///
/// Swift's `Regex` backtracks and cannot be interrupted, so a pattern such as
/// `(a+)+$` takes exponential time on 20 characters. Two rules keep
/// tokenizing bounded: patterns with nested repetition (a repeated group that
/// itself repeats or alternates, the shape of every catastrophic case) are
/// refused when the file is read, and any other non-builtin pattern must
/// split one text within ``regexTimeLimit``.
extension SplitPattern {
    /// The longest one fallback-regex split may take.
    public static let regexTimeLimit: Double = 3

    /// A pattern after the nested-repetition check.
    public static func checked(pattern: String) throws -> SplitPattern {
        let split = SplitPattern(pattern: pattern)
        guard case .regex = split else { return split }
        // Compiled once here, so a pattern that does not compile is refused with the file, not at the first text.
        guard (try? Regex(pattern)) != nil else {
            throw TokenizerError("the pre-tokenizer regex does not compile: \(pattern)")
        }
        if let group = nestedRepetition(in: pattern) {
            throw TokenizerError(
                "the pre-tokenizer regex repeats a group that itself repeats or alternates (\(group)), which can take exponential time: \(pattern)"
            )
        }
        return split
    }

    /// The first repeated group of `pattern` that contains a repetition or an
    /// alternation, or `nil` when there is none.
    static func nestedRepetition(in pattern: String) -> String? {
        let s = Array(pattern.unicodeScalars)
        // Per open group: where it starts, and whether it repeats or alternates inside.
        var groups: [(start: Int, risky: Bool)] = []
        var i = 0
        func repeatsAt(_ k: Int) -> Bool {
            guard k < s.count else { return false }
            switch s[k] {
            case "*", "+": return true
            case "{":
                // {n}, {n,}, {n,m}: repeats unless at most once.
                var j = k + 1
                var text = ""
                while j < s.count, s[j] != "}" {
                    text.unicodeScalars.append(s[j])
                    j += 1
                }
                let parts = text.split(separator: ",", omittingEmptySubsequences: false)
                guard j < s.count, (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else {
                    return false
                }
                if parts.count == 2 { return parts[1].isEmpty || (Int(parts[1]) ?? 2) > 1 }
                return (Int(parts[0]) ?? 2) > 1
            default: return false
            }
        }
        func markRisky() { if !groups.isEmpty { groups[groups.count - 1].risky = true } }
        while i < s.count {
            switch s[i] {
            case "\\":
                // An escape; \p{..} and \x{..} carry braces.
                if i + 2 < s.count, "pPx".unicodeScalars.contains(s[i + 1]), s[i + 2] == "{" {
                    i += 2
                    while i < s.count, s[i] != "}" { i += 1 }
                } else {
                    i += 1
                }
                i += 1
                if repeatsAt(i) { markRisky() }
                continue
            case "[":
                // A class: skip to its closing bracket (a leading ] or ^] is literal).
                i += 1
                if i < s.count, s[i] == "^" { i += 1 }
                if i < s.count, s[i] == "]" { i += 1 }
                while i < s.count, s[i] != "]" {
                    if s[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 1
                if repeatsAt(i) { markRisky() }
                continue
            case "(":
                groups.append((i, false))
            case ")":
                guard let group = groups.popLast() else { break }
                let repeated = repeatsAt(i + 1)
                if repeated && group.risky {
                    var text = String.UnicodeScalarView()
                    text.append(contentsOf: s[group.start...min(i + 1, s.count - 1)])
                    return String(text)
                }
                if group.risky || repeated { markRisky() }
            case "|":
                markRisky()
            default:
                if repeatsAt(i + 1) { markRisky() }
            }
            i += 1
        }
        return nil
    }

    /// Runs `work` on its own thread and gives up after ``regexTimeLimit``
    /// seconds. The thread cannot be stopped; it is left to finish (or to end
    /// with the process, which is what the CLI does with the error). So that a
    /// reader that skips bad rows cannot pile up such threads, a `pattern` that
    /// ran out of time once is refused at once from then on.
    static func withinTimeLimit<T: Sendable>(
        textLength: Int, limit: Double = regexTimeLimit, pattern: String? = nil,
        _ work: @escaping @Sendable () throws -> T
    ) throws -> T {
        if let pattern, SlowPatterns.shared.contains(pattern) {
            throw TokenizerError(
                "the pre-tokenizer regex ran out of time on an earlier text and is not run again (a pattern that backtracks)"
            )
        }
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { try work() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        guard done.wait(timeout: .now() + limit) == .success, let result = box.result else {
            // Only a pattern that stalls on a short text is given up on for good: a long
            // row may take its time on a busy machine without banning the pattern.
            if let pattern, textLength <= 10_000 { SlowPatterns.shared.insert(pattern) }
            throw TokenizerError(
                "the pre-tokenizer regex took more than \(limit) s on a text of \(textLength) characters (a pattern that backtracks)"
            )
        }
        return try result.get()
    }
}

/// The result a watched thread leaves; read only after its semaphore is signalled.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Patterns that ran out of time, each given up on after its first thread.
private final class SlowPatterns: @unchecked Sendable {
    static let shared = SlowPatterns()
    private let lock = NSLock()
    private var patterns: Set<String> = []

    func contains(_ pattern: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return patterns.contains(pattern)
    }

    func insert(_ pattern: String) {
        lock.lock()
        patterns.insert(pattern)
        lock.unlock()
    }
}
