import AdapterFormat
import Foundation
import Tensors
import Transformer

/// Prints each result as it arrives and collects the JSON document.
struct Report {
    /// Logits may differ from PyTorch's by at most this, relative to the largest logit (docs/DESIGN.md §5).
    static let logitTolerance = 1e-4

    private var fields: [(key: String, value: JSONValue)]
    /// Whether a correctness check failed (the process then exits with status 1).
    private(set) var failed = false

    init(threads: Int, cores: Int) {
        // Which kernels ran, and whether the environment chose them: the sgemm kernel set bounds the whole pass.
        let requested = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        fields = [
            ("tool", .string("adaptermerge")), ("threads", .int(threads)), ("cores", .int(cores)),
            ("blas_core", .string(BLAS.coreName)), ("openblas_coretype", requested.map(JSONValue.string) ?? .null),
        ]
        print(
            "adaptermerge  threads=\(threads) (the batch split into \(threads) part(s), one BLAS thread each; \(cores) core(s) available), BLAS core \(BLAS.coreName)"
        )
    }

    var json: JSONValue { .object(fields) }

    mutating func add(_ r: ForwardResult) {
        let ok = r.relativeError <= Report.logitTolerance
        failed = failed || !ok
        let tokens = Double(r.tokens)
        print(
            "forward, LoRA unmerged: \(format(r.lora.rate(tokens))) tok/s median (best \(format(r.lora.bestRate(tokens)))), "
                + "\(milliseconds(r.lora.median)) per pass")
        print(
            "forward, base model:    \(format(r.base.rate(tokens))) tok/s median (best \(format(r.base.bestRate(tokens)))), "
                + "\(milliseconds(r.base.median)) per pass")
        print(
            "logits vs PyTorch: max |Δ| \(scientific(r.absoluteError)), relative to max |logit| \(scientific(r.relativeError)) "
                + (ok
                    ? "(within \(scientific(Report.logitTolerance)))"
                    : "— EXCEEDS \(scientific(Report.logitTolerance))"))
        fields.append(
            (
                "forward",
                .object([
                    ("tokens", .int(r.tokens)),
                    ("lora_unmerged", timing(r.lora, work: tokens, unit: "tokens_per_s")),
                    ("base", timing(r.base, work: tokens, unit: "tokens_per_s")),
                    ("logits_max_abs_error", .double(r.absoluteError)),
                    ("logits_max_relative_error", .double(r.relativeError)),
                    ("logits_match", .bool(ok)),
                ])
            ))
    }

    /// The real-model mode's pass (``RealModelBench``).
    mutating func add(_ r: RealForwardResult, config c: ModelConfig) {
        let ok = r.relativeError <= Report.logitTolerance
        let statesOK = r.stateRelativeError <= Report.logitTolerance
        let pooledOK = r.analysis.relativeError <= Report.logitTolerance
        failed = failed || !ok || !statesOK || !pooledOK
        let tokens = Double(r.tokens)
        let shape =
            "\(c.modelType.rawValue), hidden \(c.hiddenSize), \(c.layerCount) layers, \(c.headCount) heads "
            + "(\(c.keyValueHeadCount) KV), intermediate \(c.intermediateSize), vocab \(c.vocabSize)"
        let tied = c.tieWordEmbeddings ? ", tied head" : ""
        let residency = r.widened ? "weights widened to f32" : "weights stored as the file holds them"
        print("model: \(shape)\(tied); loaded in \(milliseconds(r.loadSeconds)) (\(residency))")
        print(
            "forward, logits + all \(r.stateCount) hidden states: \(format(r.states.rate(tokens))) tok/s median "
                + "(best \(format(r.states.bestRate(tokens)))), \(milliseconds(r.states.median)) per pass")
        print(
            "forward, logits only:                \(format(r.logitsOnly.rate(tokens))) tok/s median "
                + "(best \(format(r.logitsOnly.bestRate(tokens)))), \(milliseconds(r.logitsOnly.median)) per pass")
        print(
            "logits vs PyTorch: max |Δ| \(scientific(r.absoluteError)), relative to max |logit| \(scientific(r.relativeError)) "
                + (ok
                    ? "(within \(scientific(Report.logitTolerance)))"
                    : "— EXCEEDS \(scientific(Report.logitTolerance))"))
        print(
            "hidden states vs PyTorch: worst max |Δ| / max |value| \(scientific(r.stateRelativeError)) (state "
                + "\(r.worstState)) "
                + (statesOK
                    ? "(within \(scientific(Report.logitTolerance)))"
                    : "— EXCEEDS \(scientific(Report.logitTolerance))"))
        let a = r.analysis
        print(
            "retrieval analysis, \(a.texts) texts (\(a.tokens) tokens, batches of \(a.batchSize)): "
                + "\(format(a.timing.rate(Double(a.tokens)))) tok/s median (best \(format(a.timing.bestRate(Double(a.tokens))))), "
                + "\(milliseconds(a.timing.median)) per pass")
        print(
            "pooled states vs PyTorch: worst max |Δ| / max |value| \(scientific(a.relativeError)) (layer \(a.worstLayer)) "
                + (pooledOK
                    ? "(within \(scientific(Report.logitTolerance)))"
                    : "— EXCEEDS \(scientific(Report.logitTolerance))"))
        fields.append(("mode", .string("real")))
        fields.append(("load_s", .double(r.loadSeconds)))
        fields.append(
            (
                "model",
                .object([
                    ("type", .string(c.modelType.rawValue)), ("hidden", .int(c.hiddenSize)),
                    ("layers", .int(c.layerCount)), ("heads", .int(c.headCount)),
                    ("kv_heads", .int(c.keyValueHeadCount)), ("intermediate", .int(c.intermediateSize)),
                    ("vocab", .int(c.vocabSize)), ("tied_head", .bool(c.tieWordEmbeddings)),
                    ("parameters", .int(c.parameterCount)), ("widened", .bool(r.widened)),
                ])
            ))
        fields.append(
            (
                "forward",
                .object([
                    ("tokens", .int(r.tokens)),
                    ("hidden_states", timing(r.states, work: tokens, unit: "tokens_per_s")),
                    ("logits_only", timing(r.logitsOnly, work: tokens, unit: "tokens_per_s")),
                    ("hidden_states_returned", .int(r.stateCount)),
                    ("logits_max_abs_error", .double(r.absoluteError)),
                    ("logits_max_relative_error", .double(r.relativeError)),
                    ("logits_match", .bool(ok)),
                    ("hidden_states_max_relative_error", .double(r.stateRelativeError)),
                    ("hidden_states_worst_index", .int(r.worstState)),
                    ("hidden_states_match", .bool(statesOK)),
                ])
            ))
        fields.append(
            (
                "analysis",
                .object([
                    ("texts", .int(a.texts)), ("batch_size", .int(a.batchSize)), ("tokens", .int(a.tokens)),
                    ("pooled", timing(a.timing, work: Double(a.tokens), unit: "tokens_per_s")),
                    ("pooled_max_relative_error", .double(a.relativeError)),
                    ("pooled_worst_layer", .int(a.worstLayer)), ("pooled_match", .bool(pooledOK)),
                ])
            ))
    }

    /// - Parameters:
    ///   - reference: GFLOP/s of one large sgemm on one core (``PhaseBench/referenceRate(stopwatch:)``).
    ///   - pass: what `forward` timed.
    mutating func add(
        _ phases: [PhaseBench.Phase], forward: Timing, reference: Double, pass: String = "LoRA forward pass"
    ) {
        print("BLAS replay of one \(pass) (median per pass; GFLOP/s per core):")
        var total = 0.0
        var rows: [JSONValue] = []
        for p in phases {
            total += p.timing.median
            print(
                "  \(p.name.padding(toLength: 60, withPad: " ", startingAt: 0)) \(milliseconds(p.timing.median))  "
                    + "\(String(format: "%5.1f", p.gigaflopsPerCore))")
            rows.append(
                .object([
                    ("phase", .string(p.name)), ("median_s", .double(p.timing.median)),
                    ("best_s", .double(p.timing.best)),
                    ("gflops_per_core", .double(p.gigaflopsPerCore)),
                ]))
        }
        print(
            "  \("a 1024³ sgemm on one core, for reference".padding(toLength: 60, withPad: " ", startingAt: 0))            "
                + "\(String(format: "%5.1f", reference))")
        let rest = forward.median - total
        print(
            "  \("all BLAS".padding(toLength: 60, withPad: " ", startingAt: 0)) \(milliseconds(total)) "
                + "(\(Int((100 * total / forward.median).rounded()))% of the measured pass)")
        print(
            "  \("the rest (norms, RoPE, softmax, SiLU, copies)".padding(toLength: 60, withPad: " ", startingAt: 0)) \(milliseconds(rest))"
        )
        fields.append(
            (
                "phases",
                .object([
                    ("blas", .array(rows)), ("blas_total_s", .double(total)),
                    ("reference_sgemm_gflops", .double(reference)),
                    ("forward_median_s", .double(forward.median)), ("rest_s", .double(rest)),
                ])
            ))
    }

    mutating func add(_ r: TokenizerResult) {
        failed = failed || !r.matchesReference
        let mb = Double(r.bytes) / 1e6
        print(
            "tokenizer, 1 thread: \(String(format: "%.2f", r.timing.rate(mb))) MB/s median (best \(String(format: "%.2f", r.timing.bestRate(mb)))) "
                + "on \(r.lines) lines, \(String(format: "%.2f", mb)) MB, \(r.tokens) tokens; "
                + (r.matchesReference
                    ? "ids equal the tokenizers library's" : "ids DIFFER from the tokenizers library's"))
        fields.append(
            (
                "tokenizer",
                .object([
                    ("corpus_mb", .double(mb)), ("lines", .int(r.lines)), ("tokens", .int(r.tokens)),
                    ("encode_1_thread", timing(r.timing, work: mb, unit: "mb_per_s")),
                    ("ids_match", .bool(r.matchesReference)),
                ])
            ))
    }

    private func timing(_ t: Timing, work: Double, unit: String) -> JSONValue {
        .object([
            ("runs", .int(t.samples.count)), ("median_s", .double(t.median)), ("min_s", .double(t.best)),
            ("max_s", .double(t.worst)), ("\(unit)_median", .double(t.rate(work))),
            ("\(unit)_best", .double(t.bestRate(work))),
        ])
    }

    private func format(_ rate: Double) -> String { String(Int(rate.rounded())) }
    private func milliseconds(_ s: Double) -> String { String(format: "%.1f ms", s * 1e3) }
    private func scientific(_ x: Double) -> String { String(format: "%.1e", x) }
}
