// libFuzzer target `safetensors`: the safetensors reader, and the PEFT adapter
// built on it.
//
// The input is an `adapter_model.safetensors`. It is read with
// SafeTensorsFile(file:), every tensor is copied out (and widened to Float
// when it is a float dtype), and the `adaptermerge` metadata string a PEFT
// export carries is parsed. Then the same bytes are opened as the weights of
// a PEFT adapter directory whose adapter_config.json is fixed (written once
// to a temporary directory; it has a rank_pattern and an alpha_pattern so
// that PEFT's pattern matching runs too), and every module's factors are read.
// Every input must end in a thrown error or a success.

import AdapterFormat
import Tensors

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = MappedFile(bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    do {
        let st = try SafeTensorsFile(file: file)
        for entry in st.entries {
            let t = try st.tensor(entry)
            if t.dtype.isConvertibleFloat { _ = try t.floats() }
        }
        if let first = st.entries.first { _ = try st.tensor(first.name) }
        // As PEFTDirectoryAdapter does: carried metadata that is not JSON is ignored.
        if let carried = st.metadata?[AdapterMetadata.peftMetadataKey], let json = try? JSONValue(parsing: carried) {
            _ = try AdapterMetadata(json: json, path: st.path)
        }
    } catch {
        FuzzLog.error(error)
    }
    do {
        let adapter = try PEFTDirectoryAdapter(directory: SafeTensorsFuzzConfig.directory, weightsFile: file)
        for module in adapter.modules {
            _ = try adapter.factors(of: module)
            _ = module.scaling
        }
    } catch {
        FuzzLog.error(error)
    }
    return 0
}

enum SafeTensorsFuzzConfig {
    /// The config of Tests/Fixtures/peft/patterns (r 4, rank/alpha patterns), trimmed.
    static let json = """
    {
      "alpha_pattern": {"model.layers.0.mlp.up_proj": 3, "v_proj": 16},
      "base_model_name_or_path": "fixtures/tiny-llama",
      "bias": "none",
      "fan_in_fan_out": false,
      "init_lora_weights": true,
      "lora_alpha": 4,
      "modules_to_save": null,
      "peft_type": "LORA",
      "r": 4,
      "rank_pattern": {"model.layers.1.mlp.down_proj": 6, "q_proj": 2},
      "target_modules": ["gate_proj", "v_proj", "o_proj", "k_proj", "up_proj", "down_proj", "q_proj"],
      "task_type": "CAUSAL_LM",
      "use_dora": false,
      "use_rslora": false
    }
    """

    static let directory: String = {
        var template = Array("/tmp/adaptermerge-fuzz-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { buf -> String in
            guard let p = mkdtemp(buf.baseAddress!) else { fatalError("mkdtemp failed") }
            return String(cString: p)
        }
        let path = dir + "/" + PEFTDirectoryAdapter.configName
        guard let f = fopen(path, "w") else { fatalError("cannot write \(path)") }
        _ = Array(json.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
        return dir
    }()
}
