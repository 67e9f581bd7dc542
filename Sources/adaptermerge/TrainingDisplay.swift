#if canImport(Glibc)
    import Glibc
#endif
import AdapterFormat
import Training

/// The progress line while training (on a terminal) and the closing summary.
final class TrainingDisplay {
    let total: Int
    private let enabled = isatty(STDERR_FILENO) != 0
    private var tokens = 0

    init(total: Int) { self.total = total }

    func show(_ s: StepReport) {
        tokens += s.tokens
        guard enabled else { return }
        let rate = Double(tokens) / max(s.seconds, 1e-9)
        let eta = s.seconds / Double(s.step) * Double(total - s.step)
        var line = "\rstep \(s.step)/\(total) " + Format.pad(Format.bar(Double(s.step) / Double(total), width: 24), 24)
        if let t = s.taskLoss { line += " task \(Format.fixed(t, 4))" }
        if let a = s.alignLoss { line += " align \(Format.fixed(a, 4))" }
        if let d = s.devLoss { line += " dev \(Format.fixed(d, 4))" }
        line += "  \(Format.fixed(rate, 0)) tok/s  ETA \(Format.fixed(eta, 0)) s"
        Terminal.write(line, toStandardError: true)
    }

    func finish() {
        if enabled { Terminal.write("\r\u{1B}[2K", toStandardError: true) }
    }

    static func json(_ s: StepReport) -> JSONValue {
        [
            "step": .int(s.step), "lr": .number(s.learningRate),
            "task_loss": s.taskLoss.map(JSONValue.number) ?? .null,
            "align_loss": s.alignLoss.map(JSONValue.number) ?? .null,
            "dev_loss": s.devLoss.map(JSONValue.number) ?? .null,
            "grad_norm": .number(s.gradientNorm), "tokens": .int(s.tokens), "seconds": .number(s.seconds),
        ]
    }

    static func summary(_ last: StepReport, bestDevLoss: Double?, output: String, parameters: Int, data: TrainingData)
        -> String
    {
        var lines = [
            "trained \(last.step) steps in \(Format.fixed(last.seconds, 1)) s on \(data.task.count) task rows and \(data.pairs.count) parallel rows"
                + (data.skipped.isEmpty ? "" : " (\(data.skipped.count) skipped)")
        ]
        var losses: [String] = []
        if let t = last.taskLoss { losses.append("task \(Format.fixed(t, 4))") }
        if let a = last.alignLoss { losses.append("align \(Format.fixed(a, 4))") }
        lines.append("final loss: " + losses.joined(separator: ", "))
        if let bestDevLoss {
            lines.append("best dev loss: \(Format.fixed(bestDevLoss, 4)) (that checkpoint is written)")
        }
        lines.append("wrote \(output): \(Format.grouped(parameters)) parameters")
        return lines.joined(separator: "\n")
    }
}
