// libFuzzer target `config`: a model's config.json.
//
// The input is a config.json. It is parsed with JSONValue(parsing:) and read
// with ModelConfig(json:path:). For a config the reader accepts, the target
// checks what the runtime relies on and then calls the cheap derived
// functions:
//   - every size is positive: vocab_size, hidden_size, intermediate_size,
//     num_hidden_layers, num_attention_heads, num_key_value_heads, the head
//     dimension (and it is even), max_position_embeddings, and
//     sliding_window when present;
//   - rms_norm_eps and rope_theta are finite and positive, and so are the
//     RoPE scaling factors;
//   - projectionShape(_:) for the seven projection names (q, k, v, o, gate,
//     up, down) gives positive sizes, and nil for another name;
//   - parameterCount (what pretrain checks against memory) is positive;
//   - ropeTables(positions: 3) gives 3 × head_dim/2 finite values in
//     [-1, 1], when head_dim ≤ 65536 (larger head dimensions are
//     accepted by the reader; their tables are not computed here, see
//     docs/ROBUSTNESS.md).
// A violated check is a crash (fatalError); a thrown error is fine.

import AdapterFormat
import Transformer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let config: ModelConfig
    do {
        let json = try JSONValue(parsing: UnsafeBufferPointer(start: data, count: size))
        config = try ModelConfig(json: json, path: "config.json")
    } catch {
        FuzzLog.error(error)
        return 0
    }
    func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { fatalError("config.json accepted with \(what()): \(config)") }
    }
    for (name, v) in [("vocab_size", config.vocabSize), ("hidden_size", config.hiddenSize),
                      ("intermediate_size", config.intermediateSize), ("num_hidden_layers", config.layerCount),
                      ("num_attention_heads", config.headCount), ("num_key_value_heads", config.keyValueHeadCount),
                      ("head_dim", config.headDimension), ("max_position_embeddings", config.maxPositionEmbeddings)] {
        check(v > 0, "\(name) \(v)")
    }
    check(config.headDimension % 2 == 0, "odd head_dim \(config.headDimension)")
    if let w = config.slidingWindow { check(w > 0, "sliding_window \(w)") }
    check(config.rmsNormEpsilon.isFinite && config.rmsNormEpsilon > 0, "rms_norm_eps \(config.rmsNormEpsilon)")
    check(config.ropeTheta.isFinite && config.ropeTheta > 0, "rope_theta \(config.ropeTheta)")
    switch config.ropeScaling {
    case .none: break
    case .linear(let f): check(f.isFinite && f > 0, "linear rope factor \(f)")
    case let .llama3(f, lo, hi, ctx):
        check([f, lo, hi, ctx].allSatisfy { $0.isFinite && $0 > 0 } && lo < hi, "llama3 rope scaling \(f) \(lo) \(hi) \(ctx)")
    }
    for name in ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] {
        guard let shape = config.projectionShape(name) else { fatalError("no projectionShape for \(name)") }
        check(shape.out > 0 && shape.in > 0, "\(name) shape \(shape)")
    }
    check(config.projectionShape("lm_head") == nil, "a projectionShape for lm_head")
    check(config.parameterCount > 0, "parameterCount \(config.parameterCount)")
    if config.headDimension <= 65536 {
        let (cos, sin) = config.ropeTables(positions: 3)
        check(cos.count == 3 * config.headDimension / 2 && sin.count == cos.count, "rope tables of \(cos.count) values")
        check((cos + sin).allSatisfy { $0.isFinite && abs($0) <= 1 }, "non-finite rope tables")
    }
    return 0
}
