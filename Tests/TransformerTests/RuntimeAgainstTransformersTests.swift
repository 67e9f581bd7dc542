import XCTest
import AdapterFormat
import Tensors
import TestSupport
@testable import Transformer

/// The runtime against transformers + PEFT on small random Llama, Qwen2 and
/// Mistral checkpoints (Tests/Fixtures/runtime, made by make_runtime_fixtures.py).
final class RuntimeAgainstTransformersTests: XCTestCase {
    static let expected = Result { try Fixtures.json("runtime/expected.json") }
    static let tensors = Result { try SafeTensorsFile(path: Fixtures.path("runtime/expected.safetensors")) }

    func expected() throws -> JSONValue { try Self.expected.get() }

    func tensor(_ name: String) throws -> [Float] { try Self.tensors.get().tensor(name).floats() }

    /// "model" or "model+a" → the model directory and its adapter stack.
    func load(
        _ model: String, adapters: [String: Double], into cache: inout [String: TransformerModel],
        residency: WeightResidency = .auto
    ) throws -> (TransformerModel, AdapterStack) {
        let e = try expected()
        let dir = try XCTUnwrap(e["models"]?[model]?["dir"]?.stringValue)
        let m = try cache[model] ?? TransformerModel(directory: Fixtures.path("runtime/\(dir)"), residency: residency)
        cache[model] = m
        let sources = try adapters.sorted { $0.key < $1.key }.map {
            name, weight -> (source: any AdapterSource, weight: Double) in
            let adapterDir = try XCTUnwrap(e["adapters"]?["\(model)/\(name)"]?["dir"]?.stringValue)
            return (try AdapterReader.open(Fixtures.path("runtime/\(adapterDir)")), weight)
        }
        return (m, try AdapterStack(adapters: sources, config: m.config))
    }

    /// Largest |ours − theirs| over real tokens, relative to the largest |theirs| there.
    func relativeError(_ ours: [Float], _ theirs: [Float], mask: [Bool], width: Int) -> Double {
        var err = 0.0
        var scale = 0.0
        for (row, real) in mask.enumerated() where real {
            for i in (row * width)..<((row + 1) * width) {
                err = max(err, abs(Double(ours[i]) - Double(theirs[i])))
                scale = max(scale, abs(Double(theirs[i])))
            }
        }
        return err / max(scale, 1e-12)
    }

    func testLogitsAndHiddenStatesMatchTransformers() throws {
        try checkLogitsAndHiddenStates(residency: .widened)
    }

    /// The same checks with the weights kept as stored (bf16 for Llama and
    /// Mistral, f32 for Qwen2) and widened one projection group at a time.
    func testStoredWeightsMatchTransformers() throws {
        try checkLogitsAndHiddenStates(residency: .stored)
    }

    func checkLogitsAndHiddenStates(residency: WeightResidency) throws {
        var cache: [String: TransformerModel] = [:]
        let forward = try XCTUnwrap(expected()["forward"]?.objectValue)
        var checked = 0
        for (model, info) in forward where model != "texts" {
            let ids = try XCTUnwrap(info["input_ids"]?.arrayValue).map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
            let lengths = try XCTUnwrap(info["lengths"]?.arrayValue).compactMap(\.intValue)
            let sequences = zip(ids, lengths).map { Array($0.0.prefix($0.1)) }
            for (variant, spec) in try XCTUnwrap(info["variants"]?.objectValue) where spec["merged"]?.boolValue != true
            {
                guard let logitsName = spec["logits"]?.stringValue else { continue }
                let weights = (spec["adapters"]?.objectValue ?? []).map { ($0.key, $0.value.doubleValue ?? 1) }
                let (m, stack) = try load(
                    model, adapters: Dictionary(uniqueKeysWithValues: weights), into: &cache, residency: residency)
                XCTAssertEqual(m.weights.isWidened, residency == .widened)
                // Right-padded to the longest sequence, as the fixture is; pads are masked out.
                let batch = TokenBatch(sequences)
                XCTAssertEqual(batch.length, try XCTUnwrap(ids.first).count)
                // One part (BLAS and loops over the cores), and the batch split into 2 or 3 parts.
                for threads in [1, 2, 3] {
                    m.threadCount = threads
                    let out = try m.forward(batch, adapters: stack)
                    let err = relativeError(
                        out.logits, try tensor(logitsName), mask: batch.mask, width: m.config.vocabSize)
                    XCTAssertLessThan(err, 1e-4, "\(model) \(variant) logits, \(threads) threads")
                }
                m.threadCount = ProcessorCount.available
                let out = try m.forward(batch, adapters: stack, hiddenStates: spec["hidden_states"] != nil)
                if let hiddenName = spec["hidden_states"]?.stringValue {
                    let all = try tensor(hiddenName)
                    let layerSize = out.batch * out.length * m.config.hiddenSize
                    XCTAssertEqual(out.hiddenStates.count, m.config.layerCount + 1)
                    for (l, state) in out.hiddenStates.enumerated() {
                        let theirs = Array(all[(l * layerSize)..<((l + 1) * layerSize)])
                        XCTAssertLessThan(
                            relativeError(state, theirs, mask: batch.mask, width: m.config.hiddenSize), 1e-4,
                            "\(model) \(variant) hidden state \(l)")
                    }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 5)
    }

    func testRopeFrequenciesIncludingLlama3Scaling() throws {
        let info = try XCTUnwrap(expected()["models"]?["llama"])
        let config = try ModelConfig(directory: Fixtures.path("runtime/llama"))
        let theirs = try XCTUnwrap(info["rope_inv_freq_f32"]?.arrayValue).compactMap(\.doubleValue)
        XCTAssertEqual(config.inverseFrequencies.count, theirs.count)
        for (a, b) in zip(config.inverseFrequencies, theirs) { XCTAssertEqual(a, b, accuracy: 1e-6 * b + 1e-12) }
        // Old-style config files (rope_theta / rope_scaling / torch_dtype) read to the same architecture.
        for name in ["llama", "qwen2", "mistral"] {
            let legacy = try ModelConfig(json: try Fixtures.json("runtime/legacy_configs/\(name).json"), path: name)
            let current = try ModelConfig(
                directory: Fixtures.path("runtime/\(try XCTUnwrap(expected()["models"]?[name]?["dir"]?.stringValue))"))
            XCTAssertEqual(legacy, current, name)
        }
    }

    func testTaskLossMatchesTransformers() throws {
        var cache: [String: TransformerModel] = [:]
        let rows = try JSONLines.read(Fixtures.path("runtime/score.jsonl"))
        for (key, info) in try XCTUnwrap(expected()["score"]?["by_model"]?.objectValue) {
            let parts = key.split(separator: "+").map(String.init)
            let (m, stack) = try load(parts[0], adapters: parts.count > 1 ? [parts[1]: 1] : [:], into: &cache)
            let tokenizer = try Tokenizer(directory: m.path)
            let examples = try rows.map {
                try Scoring.example(prefix: $0.string("prefix"), text: $0.string("text"), tokenizer: tokenizer)
            }
            let expectedExamples = try XCTUnwrap(info["examples"]?.arrayValue)
            for (ours, theirs) in zip(examples, expectedExamples) {
                XCTAssertEqual(ours.ids, theirs["ids"]?.arrayValue?.compactMap(\.intValue), key)
                XCTAssertEqual(ours.promptLength, theirs["n_masked"]?.intValue, key)
            }
            let losses = try Scoring.losses(
                examples, model: m, adapters: stack, batchSize: 4)
            for (ours, theirs) in zip(losses, expectedExamples) {
                XCTAssertEqual(ours.tokens, theirs["tokens"]?.intValue, key)
                XCTAssertTrue(
                    isClose(ours.loss, try XCTUnwrap(theirs["loss"]?.doubleValue), rel: 1e-4), "\(key): \(ours.loss)")
            }
        }
    }

    func testRetrievalAccuracyPerLayerMatchesTransformers() throws {
        var cache: [String: TransformerModel] = [:]
        let rows = try JSONLines.read(Fixtures.path("runtime/pairs.jsonl"))
        for (key, info) in try XCTUnwrap(expected()["retrieval"]?["by_model"]?.objectValue) {
            let parts = key.split(separator: "+").map(String.init)
            let (m, stack) = try load(parts[0], adapters: parts.count > 1 ? [parts[1]: 1] : [:], into: &cache)
            let tokenizer = try Tokenizer(directory: m.path)
            let side0 = try rows.map { try tokenizer.encode($0.string("text_parallel_0")) }
            let side1 = try rows.map { try tokenizer.encode($0.string("text_parallel_1")) }
            XCTAssertEqual(
                side0, info["input_ids_side0"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.intValue) ?? [] })
            let p0 = try Retrieval.pooledStates(side0, model: m, adapters: stack, batchSize: 12)
            let p1 = try Retrieval.pooledStates(side1, model: m, adapters: stack, batchSize: 12)
            let groups = try XCTUnwrap(info["rows_per_lang"]?.objectValue)
            for layer in try XCTUnwrap(info["layers"]?.arrayValue) {
                let l = try XCTUnwrap(layer["layer"]?.intValue)
                for (lang, members) in groups {
                    let idx = members.arrayValue?.compactMap(\.intValue) ?? []
                    let acc = Retrieval.accuracy(anchors: idx.map { p0[l][$0] }, candidates: idx.map { p1[l][$0] })
                    XCTAssertEqual(
                        acc, layer["per_lang"]?[lang]?["accuracy"]?.doubleValue ?? -1, accuracy: 1e-9,
                        "\(key) layer \(l) \(lang)")
                }
            }
            // Pooling itself, at the stored layer.
            let pooledLayer = try XCTUnwrap(info["pooled_layer"]?.intValue)
            let names = try XCTUnwrap(info["pooled_tensors"]?.arrayValue).compactMap(\.stringValue)
            for (side, pooled) in [p0, p1].enumerated() {
                let theirs = try tensor(names[side])
                let ours = Array(pooled[pooledLayer].prefix(3).joined())
                XCTAssertLessThan(
                    relativeError(ours, theirs, mask: [true, true, true], width: m.config.hiddenSize), 1e-4,
                    "\(key) pooled side \(side)")
            }
        }
    }

    func testGreedyGenerationMatchesTransformers() throws {
        for residency in [WeightResidency.widened, .stored] { try checkGeneration(residency: residency) }
    }

    func checkGeneration(residency: WeightResidency) throws {
        var cache: [String: TransformerModel] = [:]
        for (key, list) in try XCTUnwrap(expected()["generate"]?["by_model"]?.objectValue) {
            let parts = key.split(separator: "+").map(String.init)
            let (m, stack) = try load(
                parts[0], adapters: parts.count > 1 ? [parts[1]: 1] : [:], into: &cache, residency: residency)
            for item in list.arrayValue ?? [] {
                let prompt = try XCTUnwrap(item["prompt_ids"]?.arrayValue).compactMap(\.intValue)
                let expectedNew = try XCTUnwrap(item["new_ids"]?.arrayValue).compactMap(\.intValue)
                let ours = try m.generate(
                    prompt: prompt, maxNewTokens: expectedNew.count, stopTokens: [], adapters: stack)
                XCTAssertEqual(ours, expectedNew, "\(key): \(item["prompt"]?.stringValue ?? "")")
            }
        }
    }

    /// Without logits a full pass gives the same hidden states, bit for bit, and skips the head.
    func testHiddenStatesWithoutLogitsAreTheSame() throws {
        let m = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        let batch = TokenBatch([[1, 2, 3, 4, 5], [6, 7, 8]])
        let with = try m.forward(batch, hiddenStates: true)
        let without = try m.forward(batch, hiddenStates: true, logits: false)
        XCTAssertTrue(without.logits.isEmpty)
        XCTAssertEqual(without.hiddenStates, with.hiddenStates)
    }

    /// Shards as transformers lists them in model.safetensors.index.json.
    func testShardedCheckpointLoadsLikeTheSingleFile() throws {
        let dir = try Fixtures.scratchDirectory()
        let index = try Fixtures.json("runtime/llama-sharded/model.safetensors.index.json")
        let single = try SafeTensorsFile(path: Fixtures.path("runtime/llama/model.safetensors"))
        var shards: [String: [(name: String, tensor: Tensor)]] = [:]
        for (name, file) in try XCTUnwrap(index["weight_map"]?.objectValue) {
            shards[try XCTUnwrap(file.stringValue), default: []].append((name, try single.tensor(name)))
        }
        XCTAssertGreaterThan(shards.count, 1)
        for (file, tensors) in shards {
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: dir + "/" + file, overwrite: false)
        }
        for file in ["config.json", "model.safetensors.index.json"] {
            try FileManager.default.copyItem(
                atPath: Fixtures.path("runtime/llama-sharded/\(file)"), toPath: dir + "/" + file)
        }
        let sharded = try TransformerModel(directory: dir)
        let reference = try TransformerModel(directory: Fixtures.path("runtime/llama"))
        let batch = TokenBatch([[1, 2, 3, 4, 5]])
        XCTAssertEqual(try sharded.forward(batch).logits, try reference.forward(batch).logits)
    }

    func testRefusesUnsupportedArchitecturesByName() throws {
        var json = try Fixtures.json("runtime/legacy_configs/llama.json")
        guard case .object(var pairs) = json else { return XCTFail() }
        pairs = pairs.map { $0.key == "model_type" ? ($0.key, "gpt_neox") : $0 }
        json = .object(pairs)
        XCTAssertThrowsError(try ModelConfig(json: json, path: "config.json")) { error in
            XCTAssertTrue("\(error)".contains("gpt_neox"), "\(error)")
        }
    }
}
