import ArgumentParser
import AdapterFormat

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert between .lora files and PEFT adapter directories.",
        discussion: """
            The input is a .lora file, a PEFT adapter directory, or its
            adapter_model.safetensors. An output ending in .lora is written as a .lora
            file; any other output is written as a PEFT adapter directory
            (adapter_config.json + adapter_model.safetensors). Tensors are carried bit
            for bit unless --dtype asks for another dtype.

            Examples:
              adaptermerge convert peft-adapter/ task.lora --kind task --languages en,de
              adaptermerge convert task.lora exported-peft/
              adaptermerge convert task.lora small.lora --dtype bf16 --force
            """
    )

    @Argument(help: "The adapter to read.")
    var input: String

    @Argument(help: "Where to write: a .lora file, or a PEFT directory.")
    var output: String

    @OptionGroup var encoding: AdapterEncodingOptions

    @OptionGroup var replace: ForceOption
    @OptionGroup var base: BaseModelOption

    @Option(help: "Record the adapter's kind (task, alignment, joint, merged).")
    var kind: AdapterKind?

    @Option(help: "Record the languages the adapter was trained on (comma-separated).")
    var languages: String?

    @Option(name: .customLong("base-model"), help: "Record the base model name (base_model_name_or_path).")
    var baseModel: String?

    @Flag(help: "Write factors that hold NaN or infinity (refused by default, also after narrowing to --dtype).")
    var allowNonfinite = false

    func validate() throws {
        if let languages { _ = try OptionList.items(languages, option: "--languages") }
    }

    func run() throws {
        try AdapterWriter.checkOutput(output, format: encoding.outputFormat, overwrite: replace.force)
        let model = try base.config()
        let source = try AdapterReader.open(input, layout: model?.llamaCppLayout)
        var metadata = source.metadata
        if let kind { metadata.kind = kind }
        if let languages { metadata.languages = try OptionList.items(languages, option: "--languages") }
        if let baseModel { metadata.baseModel = baseModel }
        try AdapterWriter.write(
            modules: source.modules, metadata: metadata, to: output, overwrite: replace.force,
            dtype: encoding.dtype.dtype, options: encoding.writeOptions(model: model), allowNonFinite: allowNonfinite,
            factors: source.factors(of:))
        let written = try AdapterReader.open(output, layout: model?.llamaCppLayout)
        let ratio = written.storedBytes > 0 ? Double(written.rawBytes) / Double(written.storedBytes) : 1
        print(
            "wrote \(output) (\(written.format.displayName)): \(written.modules.count) modules, "
                + "\(Format.bytes(written.storedBytes)) stored, \(Format.bytes(written.rawBytes)) raw, \(Format.fixed(ratio, 2))×"
        )
    }
}
