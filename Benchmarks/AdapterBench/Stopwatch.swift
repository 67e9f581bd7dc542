/// Repeated timing with a monotonic clock.
///
/// Every measurement runs its body at least ``minimumRepeats`` times and
/// until ``minimumSeconds`` of wall time have been spent, then reports the
/// median and the fastest run. The tables show the fastest run, the one
/// least disturbed by other work on the machine; the JSON has both, so the
/// gap between them shows how noisy the run was.
struct Stopwatch: Sendable {
    /// Runs per measurement, at least.
    var minimumRepeats = 3
    /// Seconds spent per measurement, at least.
    var minimumSeconds = 1.0
    /// Runs per measurement, at most (stops very fast bodies from spinning).
    var maximumRepeats = 1000

    /// Times `body` and returns the durations of all runs.
    func measure(_ body: () throws -> Void) rethrows -> Timing {
        let clock = ContinuousClock()
        var samples: [Double] = []
        var spent = 0.0
        while samples.count < minimumRepeats || (spent < minimumSeconds && samples.count < maximumRepeats) {
            let elapsed = try clock.measure(body)
            let seconds = elapsed.seconds
            samples.append(seconds)
            spent += seconds
        }
        return Timing(samples: samples)
    }
}

/// The durations, in seconds, of the runs of one measurement.
struct Timing: Sendable {
    let samples: [Double]

    /// The median run.
    var median: Double {
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// These runs and those of `other`, as one measurement.
    func pooled(with other: Timing) -> Timing { Timing(samples: samples + other.samples) }

    /// The fastest run.
    var best: Double { samples.min() ?? .nan }

    /// Throughput in MB/s (10⁶ bytes per second) of the median run over `bytes`.
    func megabytesPerSecond(_ bytes: Int) -> Double { Double(bytes) / median / 1e6 }

    /// Throughput in MB/s of the fastest run over `bytes`.
    func bestMegabytesPerSecond(_ bytes: Int) -> Double { Double(bytes) / best / 1e6 }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}

/// Keeps results alive so the optimiser cannot drop the work that made them.
enum Sink {
    nonisolated(unsafe) private static var accumulator: UInt64 = 0

    /// Folds a value into a global the optimiser cannot see through.
    @inline(never)
    static func consume(_ value: UInt64) { accumulator &+= value }

    /// Folds a few bytes of a buffer and its length into the accumulator.
    static func consume(_ bytes: [UInt8]) {
        consume(UInt64(bytes.count) &+ UInt64(bytes.first ?? 0) &+ UInt64(bytes.last ?? 0))
    }
}
