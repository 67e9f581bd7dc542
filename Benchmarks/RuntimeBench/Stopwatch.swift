/// Timing with a monotonic clock: a few untimed warm-up runs, then timed runs.
struct Stopwatch: Sendable {
    /// Untimed runs first (caches, page faults, lazily built tables).
    var warmup = 3
    /// Timed runs.
    var runs = 10

    /// Runs `body` ``warmup`` times, then times it ``runs`` times.
    func measure(_ body: () throws -> Void) rethrows -> Timing {
        for _ in 0..<warmup { try body() }
        let clock = ContinuousClock()
        var samples: [Double] = []
        samples.reserveCapacity(runs)
        for _ in 0..<runs { samples.append(try clock.measure(body).seconds) }
        return Timing(samples: samples)
    }
}

/// The durations, in seconds, of the timed runs of one measurement.
struct Timing: Sendable {
    let samples: [Double]

    /// The median run (the mean of the two middle runs for an even count).
    var median: Double {
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// The fastest run.
    var best: Double { samples.min() ?? .nan }

    /// The slowest run.
    var worst: Double { samples.max() ?? .nan }

    /// `work` units per second of the median run.
    func rate(_ work: Double) -> Double { work / median }

    /// `work` units per second of the fastest run.
    func bestRate(_ work: Double) -> Double { work / best }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
