import ArgumentParser
import AdapterFormat
import Tensors
import AdapterMath
import Training
import Transformer
#if canImport(Glibc)
    import Glibc
#endif

/// The `adaptermerge` command tree.
@main
struct AdapterMerge: ParsableCommand {
    static let version = ToolInfo.version

    static let configuration = CommandConfiguration(
        commandName: "adaptermerge",
        abstract: "Combine, convert and inspect LoRA adapters for cross-lingual transfer.",
        discussion: """
            Adapters are .lora files (compressed, checksummed) or PEFT adapter
            directories.

            Examples:
              adaptermerge convert peft-adapter/ task.lora
              adaptermerge inspect task.lora
              adaptermerge verify task.lora
            """,
        version: version,
        groupedSubcommands: [
            CommandGroup(
                name: "Adapters",
                subcommands: [Combine.self, Resize.self, Extract.self, Convert.self, Inspect.self, Diff.self, Verify.self]),
            CommandGroup(name: "Models", subcommands: [Tokenize.self, Score.self, Analyze.self, Apply.self]),
            CommandGroup(name: "Training", subcommands: [Train.self, Pretrain.self]),
            CommandGroup(name: "Evaluation", subcommands: [Check.self, Tune.self]),
            CommandGroup(name: "Examples", subcommands: [Example.self]),
        ]
    )

    /// Runs the command and turns every error into one line on stderr and
    /// an exit code: 2 for usage and input errors, 1 for a failed check.
    static func main() {
        ProcessTuning.apply()
        // An interrupted write leaves no hidden temporary file behind.
        TemporaryFiles.removeOnSignals()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CheckFailure {
            Terminal.error(failure.message)
            Glibc.exit(1)
        } catch let error as any AdapterMergeError {
            Terminal.error(error.description + advice(for: error))
            Glibc.exit(2)
        } catch {
            // --help and --version arrive here as clean exits.
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            // Usage errors too get one line, with a pointer to the help.
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            Terminal.error((text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text) + " (see --help)")
            Glibc.exit(2)
        }
    }
}

extension AdapterMerge {
    /// The flag that would have avoided a library error, in the CLI's words.
    static func advice(for error: any AdapterMergeError) -> String {
        switch error {
        case let e as FormatError where e.code == .outputExists: " (use --force to overwrite)"
        case let e as MergeError where e.code == .baseModelMismatch:
            " (use --allow-base-mismatch if they really share one)"
        case let e as MergeError where e.code == .nonFinite: " (use --allow-nonfinite to merge anyway)"
        case let e as TrainingError where e.code == .batchTooSmall: " (--batch-size)"
        case let e as TrainingError where e.code == .layerOutOfRange: " (--layer)"
        default: ""
        }
    }
}

/// A check that ran and did not pass (exit status 1).
struct CheckFailure: Error {
    let message: String
}
