// libFuzzer target `json`: the strict JSON parser, PEFT's adapter_config.json
// reader and the `.lora` metadata reader.
//
// The input is parsed with JSONValue(parsing:). A parsed document is then
//   - read as an adapter_config.json (PEFTConfig(json:path:)), and its
//     rank/alpha resolved for a few module paths (this compiles the
//     rank_pattern / alpha_pattern keys as regular expressions, as PEFT does),
//     and re-exported with PEFTConfig.exportJSON;
//   - read as `.lora` metadata (AdapterMetadata(json:path:));
//   - written back (compact and indented) and re-parsed: the result must be
//     equal to the first parse. This is the one property checked beyond "no
//     crash"; it is skipped for documents holding a non-finite double
//     (1e400 parses to infinity, which JSON cannot write back).
// Every other outcome must be a thrown error or a success.

import AdapterFormat
import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let value: JSONValue
    do {
        value = try JSONValue(parsing: UnsafeBufferPointer(start: data, count: size))
    } catch {
        FuzzLog.error(error)
        return 0
    }
    if JSONFuzz.allFinite(value) {
        for text in [value.compactText, value.prettyText(indent: 2)] {
            guard let again = try? JSONValue(parsing: text), again == value else {
                fatalError("JSON round trip changed the document: \(text)")
            }
        }
    }
    _ = value.canonicalized
    do {
        let config = try PEFTConfig(json: value, path: "adapter_config.json")
        var modules: [LoraModuleInfo] = []
        for path in JSONFuzz.modulePaths {
            let r = config.rank(for: path)
            let alpha = config.alpha(for: path)
            modules.append(LoraModuleInfo(path: path, rank: r, inFeatures: 8, outFeatures: 8, alpha: alpha,
                                          useRSLoRA: config.useRSLoRA, dtype: .f32))
        }
        _ = PEFTConfig.exportJSON(modules: modules, baseModel: config.baseModel, fanInFanOut: config.fanInFanOut,
                                  original: value).compactText
    } catch {
        FuzzLog.error(error)
    }
    do {
        let metadata = try AdapterMetadata(json: value, path: "<metadata>")
        _ = metadata.containerJSON(modules: []).compactText
    } catch {
        FuzzLog.error(error)
    }
    return 0
}

enum JSONFuzz {
    static let modulePaths = [
        "model.layers.0.self_attn.q_proj",
        "model.layers.1.mlp.down_proj",
        "transformer.h.3.attn.c_attn",
    ]

    static func allFinite(_ v: JSONValue) -> Bool {
        switch v {
        case .double(let d): return d.isFinite
        case .array(let a): return a.allSatisfy(allFinite)
        case .object(let o): return o.allSatisfy { allFinite($0.value) }
        default: return true
        }
    }
}
