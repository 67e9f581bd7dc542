import AdapterFormat

/// The files that `Benchmarks/runtime_vs_torch.py` writes into the benchmark
/// directory, so that both sides run on identical inputs.
struct BenchmarkFiles {
    let directory: String

    /// The Hugging Face model directory (weights, config, tokenizer).
    var model: String { FileSystem.join(directory, "model") }
    /// The PEFT LoRA directory.
    var lora: String { FileSystem.join(directory, "lora") }
    /// `{"batch": 16, "length": 64, "ids": [[Int]]}`.
    var inputs: String { FileSystem.join(directory, "inputs.json") }
    /// PyTorch + PEFT's logits for the inputs: `logits`, f32, batch × length × vocab; in the real-model
    /// mode PyTorch's, with `hidden_states`, f32, (layers + 1) × batch × length × hidden.
    var logits: String { FileSystem.join(directory, "logits.safetensors") }
    /// The real-model mode's retrieval workload: `{"batch_size": 8, "ids": [[Int]]}`, texts of mixed lengths.
    var analysis: String { FileSystem.join(directory, "analysis.json") }
    /// The multilingual text the tokenizer encodes, one paragraph per line.
    var corpus: String { FileSystem.join(directory, "corpus.txt") }
    /// The tokenizers library's token count and id hash for the corpus.
    var corpusIDs: String { FileSystem.join(directory, "corpus_ids.json") }

    /// The token ids of the forward batch, one array per sequence.
    func inputIDs() throws -> [[Int]] {
        try BenchmarkFiles.ids(in: FileSystem.readJSON(inputs), path: inputs)
    }

    /// The retrieval workload (real-model mode): its texts' ids and the batch size.
    func analysisIDs() throws -> (ids: [[Int]], batchSize: Int) {
        let json = try FileSystem.readJSON(analysis)
        guard let size = json["batch_size"]?.intValue, size > 0 else {
            throw FormatError(.invalidContent, "batch_size must be a positive integer", path: analysis)
        }
        return (try BenchmarkFiles.ids(in: json, path: analysis), size)
    }

    private static func ids(in json: JSONValue, path: String) throws -> [[Int]] {
        guard let rows = json["ids"]?.arrayValue else {
            throw FormatError(.invalidContent, "ids is missing", path: path)
        }
        return try rows.map { row in
            guard let ids = row.arrayValue?.compactMap(\.intValue), ids.count == row.arrayValue?.count else {
                throw FormatError(.invalidContent, "ids must be arrays of integers", path: path)
            }
            return ids
        }
    }

    /// PyTorch's logits, flattened in batch × length × vocab order.
    func referenceLogits() throws -> [Float] {
        try SafeTensorsFile(path: logits).tensor("logits").floats()
    }

    /// PyTorch's hidden states (real-model mode), flattened in state × batch × length × hidden order.
    func referenceHiddenStates() throws -> [Float] {
        try SafeTensorsFile(path: logits).tensor("hidden_states").floats()
    }

    /// PyTorch's mean-pooled states of the retrieval workload (real-model mode), flattened in
    /// state × text × hidden order.
    func referencePooledStates() throws -> [Float] {
        try SafeTensorsFile(path: logits).tensor("pooled").floats()
    }

    /// The reference tokenization of the corpus: how many ids, and their ``IDHash``.
    func referenceCorpusIDs() throws -> (tokens: Int, hash: UInt64) {
        let json = try FileSystem.readJSON(corpusIDs)
        guard let tokens = json["tokens"]?.intValue, let text = json["hash"]?.stringValue, let hash = UInt64(text)
        else {
            throw FormatError(.invalidContent, "tokens or hash is missing", path: corpusIDs)
        }
        return (tokens, hash)
    }
}

/// The 64-bit rolling hash of a token-id sequence that the Python script
/// also computes: `h = h · 1000003 + id + 1 (mod 2⁶⁴)`.
struct IDHash {
    private(set) var value: UInt64 = 0

    mutating func combine(_ ids: [Int]) {
        for id in ids { value = value &* 1_000_003 &+ UInt64(id + 1) }
    }
}
