import AdapterFormat
import Tensors

/// The stacked weights of one ``ProjectionGroup``: the members' rows one
/// after another, so row range `offset..<offset + out` is one projection.
public struct GroupWeights: Sendable {
    /// The members in stacking order, or one resident matrix of all their rows.
    public let parts: [StoredMatrix]
    /// Rows over all members.
    public let rows: Int
    public let columns: Int
    /// One bias over all rows (zero for members without one), or `nil` when
    /// no member has a bias.
    public let bias: [Float]?

    init(parts: [StoredMatrix], bias: [Float]?) {
        self.parts = parts
        rows = parts.reduce(0) { $0 + $1.rows }
        columns = parts.first?.columns ?? 0
        self.bias = bias
    }

    /// Stacks `group`'s members as `load(name, out, in)` reads them (the
    /// matrix, and how to read its bias), with a bias over all rows when the
    /// config gives any member one (zeros for the others).
    init(
        stacking group: ProjectionGroup, config: ModelConfig,
        load: (String, Int, Int) throws -> (StoredMatrix, () throws -> [Float])
    ) throws {
        let hasBias =
            (group == .qkv && config.attentionBias) || (group == .o && config.outputBias)
            || ((group == .gateUp || group == .down) && config.mlpBias)
        var parts: [StoredMatrix] = []
        var bias: [Float] = []
        for name in group.members {
            guard let (out, inn) = config.projectionShape(name) else { continue }
            let (matrix, readBias) = try load(name, out, inn)
            parts.append(matrix)
            if hasBias { bias += try readBias() }
        }
        self.init(parts: parts, bias: hasBias ? bias : nil)
    }

    /// The stacked weights widened into one resident matrix.
    func widened() -> GroupWeights {
        guard parts.count > 1 || parts.first?.residentValues == nil else { return self }
        let buffer = FloatBuffer(rows * columns)
        var row = 0
        for part in parts {
            part.widenAll(into: buffer.p + row * columns, parallel: true)
            row += part.rows
        }
        return GroupWeights(parts: [StoredMatrix(resident: buffer, rows: rows, columns: columns)], bias: bias)
    }

    /// Calls `body` with the stacked weights as `Float` (rows × columns): in
    /// place when resident, else widened into `scratch` (at least rows ×
    /// columns floats; a buffer of its own when `nil`), over all cores when `parallel`.
    public func withFloats<R>(
        scratch: UnsafeMutablePointer<Float>?, parallel: Bool, _ body: (UnsafePointer<Float>) throws -> R
    ) rethrows -> R {
        if parts.count == 1, let values = parts[0].residentValues { return try body(values) }
        guard let scratch else {
            let own = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(rows * columns, 1))
            defer { own.deallocate() }
            return try withFloats(scratch: own, parallel: parallel, body)
        }
        var row = 0
        for part in parts {
            part.widenAll(into: scratch + row * columns, parallel: parallel)
            row += part.rows
        }
        return try body(scratch)
    }
}

/// The weights of one decoder block.
public struct BlockWeights: Sendable {
    public let inputNorm: [Float]
    public let postAttentionNorm: [Float]
    /// Indexed by ``ProjectionGroup/rawValue``: q‖k‖v, o, gate‖up, down.
    public let groups: [GroupWeights]

    public subscript(group: ProjectionGroup) -> GroupWeights { groups[group.rawValue] }
}

/// Where a model's projection weights live while it runs.
public enum WeightResidency: String, Sendable, CaseIterable {
    /// Widened when the whole model in `Float` takes at most a quarter of
    /// physical memory, else stored.
    case auto
    /// Every weight widened to `Float` once, at load: fastest for many small
    /// passes (generation), 4 bytes a parameter.
    case widened
    /// Weights kept as the file stores them (memory-mapped) and widened a
    /// projection group at a time just before its matmul: memory ≈ one block.
    case stored
}

/// All weights of a checkpoint: norms widened to `Float`, matrices as
/// ``StoredMatrix`` (see ``WeightResidency``).
public struct ModelWeights: Sendable {
    public let embedding: StoredMatrix
    public let blocks: [BlockWeights]
    public let finalNorm: [Float]
    /// The output head; the embedding when tied.
    public let head: StoredMatrix
    /// Whether every matrix holds widened values (``WeightResidency/widened``).
    public let isWidened: Bool

    public static let projectionNames = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    /// Assembles weights and widens them when `residency` asks for it.
    init(
        embedding: StoredMatrix, blocks: [BlockWeights], finalNorm: [Float], head: StoredMatrix, tied: Bool,
        residency: WeightResidency
    ) {
        let widen: Bool
        switch residency {
        case .widened: widen = true
        case .stored: widen = false
        case .auto:
            var bytes = embedding.widenedBytes + (tied ? 0 : head.widenedBytes)
            for block in blocks { for group in block.groups { bytes += group.rows * group.columns * 4 } }
            widen = bytes <= PhysicalMemory.bytes / 4
        }
        isWidened = widen
        self.finalNorm = finalNorm
        guard widen else {
            (self.embedding, self.blocks, self.head) = (embedding, blocks, head)
            return
        }
        self.embedding = embedding.widened()
        self.head = tied ? self.embedding : head.widened()
        self.blocks = blocks.map { b in
            BlockWeights(
                inputNorm: b.inputNorm, postAttentionNorm: b.postAttentionNorm, groups: b.groups.map { $0.widened() })
        }
    }

    /// Maps `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    public init(directory: String, config: ModelConfig, residency: WeightResidency = .auto) throws {
        let files = try ModelWeights.shardFiles(directory)
        var index: [String: SafeTensorsFile] = [:]
        for file in files {
            for e in file.entries { index[e.name] = file }
        }
        func matrix(_ name: String, _ rows: Int, _ columns: Int) throws -> StoredMatrix {
            let (file, entry) = try located(name, [rows, columns])
            return try StoredMatrix(file, entry, rows: rows, columns: columns)
        }
        func located(_ name: String, _ shape: [Int]) throws -> (SafeTensorsFile, SafeTensorsEntry) {
            guard let file = index[name], let entry = file.entry(name) else {
                throw FormatError(.malformed, "weight \(name) is missing", path: directory)
            }
            guard entry.shape == shape else {
                throw FormatError(
                    .malformed, "weight has shape \(entry.shape), the config implies \(shape)", path: file.path,
                    location: name)
            }
            return (file, entry)
        }
        func vector(_ name: String, _ count: Int) throws -> [Float] {
            let (file, entry) = try located(name, [count])
            let m = try StoredMatrix(file, entry, rows: 1, columns: count)
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                m.widen(rows: 0..<1, into: buffer.baseAddress!)
                initialized = count
            }
        }
        let h = config.hiddenSize
        let embedding = try matrix("model.embed_tokens.weight", config.vocabSize, h)
        var blocks: [BlockWeights] = []
        for l in 0..<config.layerCount {
            let prefix = "model.layers.\(l)."
            let groups = try ProjectionGroup.allCases.map { group in
                try GroupWeights(stacking: group, config: config) { name, out, inn in
                    let module = LoraModuleInfo.projectionPath(layer: l, projection: name)
                    return (
                        try matrix(module + ".weight", out, inn),
                        { try vector(module + ".bias", out) }
                    )
                }
            }
            blocks.append(
                BlockWeights(
                    inputNorm: try vector(prefix + "input_layernorm.weight", h),
                    postAttentionNorm: try vector(prefix + "post_attention_layernorm.weight", h),
                    groups: groups))
        }
        let finalNorm = try vector("model.norm.weight", h)
        let tied = config.tieWordEmbeddings || index["lm_head.weight"] == nil
        guard config.tieWordEmbeddings || index["lm_head.weight"] != nil else {
            throw FormatError(.malformed, "lm_head.weight is missing and tie_word_embeddings is false", path: directory)
        }
        self.init(
            embedding: embedding, blocks: blocks, finalNorm: finalNorm,
            head: tied ? embedding : try matrix("lm_head.weight", config.vocabSize, h), tied: tied,
            residency: residency)
    }

    /// The most floats any projection group needs widened: the scratch a
    /// pass over stored weights allocates once.
    public var largestGroup: Int {
        blocks.lazy.flatMap(\.groups).map { $0.rows * $0.columns }.max() ?? 0
    }

    static func shardFiles(_ directory: String) throws -> [SafeTensorsFile] {
        let single = FileSystem.join(directory, "model.safetensors")
        if FileSystem.isRegularFile(single) { return [try SafeTensorsFile(path: single)] }
        let indexPath = FileSystem.join(directory, "model.safetensors.index.json")
        guard FileSystem.isRegularFile(indexPath) else {
            throw FormatError(.notRecognized, "no model.safetensors or model.safetensors.index.json", path: directory)
        }
        let json = try FileSystem.readJSON(indexPath)
        guard let map = json["weight_map"]?.objectValue else {
            throw FormatError(.malformed, "weight_map is missing", path: indexPath, location: "weight_map")
        }
        var names: [String] = []
        for (_, file) in map {
            guard let f = file.stringValue, !f.contains("/"), !f.hasPrefix(".") else {
                throw FormatError(
                    .malformed, "shard names must be plain file names", path: indexPath, location: "weight_map")
            }
            if !names.contains(f) { names.append(f) }
        }
        return try names.sorted().map { try SafeTensorsFile(path: FileSystem.join(directory, $0)) }
    }
}
