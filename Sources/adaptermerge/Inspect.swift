import ArgumentParser
import AdapterFormat
import AdapterMath
import Tensors

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an adapter's metadata, storage and ΔW statistics.",
        discussion: """
            ΔW figures are of scaling · B · A, computed in factor space from r × r
            matrices: exact, and unchanged by rescaling A by c and B by 1/c. Effective
            rank is the entropy effective rank of the singular values.

            Examples:
              adaptermerge inspect task.lora
              adaptermerge inspect peft-adapter/ --modules
              adaptermerge inspect task.lora --json | jq '.modules[] | select(.layer == 3)'
            """
    )

    @Argument(help: "A .lora file, a PEFT adapter directory, or its adapter_model.safetensors.")
    var adapter: String

    @OptionGroup var format: JSONOption
    @OptionGroup var base: BaseModelOption

    @Flag(help: "Also list every module.")
    var modules = false

    func run() throws {
        // Factor-space work is many small, tall-skinny LAPACK calls: BLAS threads only contend.
        BLAS.setThreadCount(1)
        let report = try AdapterReport(
            source: try AdapterReader.open(adapter, layout: try base.config()?.llamaCppLayout))
        if format.json {
            print(report.json.prettyText(indent: 2))
        } else {
            print(InspectText.render(report, modules: modules), terminator: "")
        }
    }
}
