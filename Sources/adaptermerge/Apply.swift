import ArgumentParser
import AdapterFormat
import Transformer

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model directory with adapters merged into the base weights.",
        discussion: """
            Each targeted weight becomes W + Σ wᵢ·sᵢ·Bᵢ·Aᵢ in its original dtype;
            config and tokenizer files are copied, and the weights are written as
            one model.safetensors that transformers loads directly.

            Examples:
              adaptermerge apply --model base/ --adapter merged.lora -o base-merged/
              adaptermerge apply --model base/ --adapter task.lora --adapter align.lora:0.5 -o out/ --force
            """
    )

    @Option(help: "The base model directory.")
    var model: String

    @Option(name: .customLong("adapter"), help: "An adapter as file[:weight] (repeatable).")
    var adapters: [AdapterSpec] = []

    @Option(name: .shortAndLong, help: "The model directory to write.")
    var output: String

    @OptionGroup var replace: ForceOption

    func validate() throws {
        if adapters.isEmpty { throw ValidationError("give at least one --adapter") }
    }

    func run() throws {
        let result = try AdapterApplication.apply(
            model: model, adapters: try adapters.map { try $0.open() }, to: output,
            overwrite: replace.force)
        print("wrote \(output): \(result.merged) of \(result.tensors) weights updated")
    }
}
