import AdapterFormat

extension AdapterMerger {
    /// Merges every module and writes the result to `path` (a `.lora` file or a
    /// PEFT directory), module by module, with the lineage in its metadata.
    ///
    /// - Parameters:
    ///   - lineageExtras: fields appended to the lineage (e.g. `tune`'s record).
    ///   - allowNonFinite: write NaN/Inf values instead of refusing them.
    /// - Returns: the certificate, one entry per module.
    public func write(
        to path: String, overwrite: Bool, options writeOptions: LoraWriteOptions = LoraWriteOptions(),
        allowNonFinite: Bool = false, lineageExtras: [(key: String, value: JSONValue)] = []
    ) throws -> MergeReport {
        var metadata = outputMetadata(inputHashes: try inputs.map { try $0.contentHash() })
        if !lineageExtras.isEmpty, case .object(let fields) = metadata.lineage ?? .object([]) {
            metadata.lineage = .object(fields + lineageExtras)
        }
        var report = MergeReport(method: options.method, weights: options.weights, modules: [])
        try AdapterWriter.write(
            modules: outputModules, metadata: metadata, to: path, overwrite: overwrite,
            options: writeOptions, allowNonFinite: allowNonFinite
        ) { module in
            // The certificate measures the factors as the file holds them, Q8_0 included.
            let merged = try merge(
                module, storingA: { try AdapterWriter.storedLoraA($0, module: module, options: writeOptions) })
            report.modules.append(merged.report)
            return (merged.a, merged.b)
        }
        return report
    }
}
