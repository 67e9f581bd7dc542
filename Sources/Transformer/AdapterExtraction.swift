import AdapterFormat
import Foundation
import Tensors

/// A LoRA adapter that approximates the difference between a fine-tuned
/// checkpoint and its base: per projection, ΔW = W_tuned − W_base factored
/// by a randomized SVD (Halko, Martinsson and Tropp: a seeded Gaussian test
/// matrix, power iterations with re-orthonormalization, then the SVD of the
/// small projected matrix).
///
/// Both models are opened with their weights kept as stored (mapped, or GGUF
/// blocks), and one module at a time is widened: memory holds two dense
/// matrices of the largest projection and the small factors, never a model.
/// The error reported per module is exact, `‖ΔW − B·A‖_F / ‖ΔW‖_F =
/// √(‖ΔW‖²_F − Σ_{i≤k} σᵢ²) / ‖ΔW‖_F`, since B·A projects ΔW onto a subspace.
public struct AdapterExtraction {
    /// How ranks are chosen and how hard the range finder works.
    public struct Options: Sendable {
        /// Every module's rank; or, with `rule`, the most a module may keep.
        public var rank: Int
        /// Choose each module's rank from its singular values (capped by `rank`).
        public var rule: RankRule?
        /// The projections to extract (`q_proj` … `down_proj`); empty: all seven.
        public var projections: [String] = []
        /// Extra columns of the range finder beyond `rank`.
        public var oversampling = 8
        /// Power iterations: each sharpens the spectrum the range finder sees.
        public var powerIterations = 2
        public var seed: UInt64 = 0

        public init(rank: Int, rule: RankRule? = nil) {
            self.rank = rank
            self.rule = rule
        }
    }

    /// One extracted module.
    public struct Module: Sendable {
        public let info: LoraModuleInfo
        /// ‖ΔW‖_F.
        public let differenceNorm: Double
        /// ‖ΔW − B·A‖_F / ‖ΔW‖_F (0 when ΔW is 0).
        public let relativeError: Double
        /// Leading singular values of ΔW found by the range finder.
        public let singularValues: [Double]
        let a: [Float]
        let b: [Float]
    }

    public let base: TransformerModel
    public let tuned: TransformerModel
    public let options: Options
    /// What the two models differ in besides the projections (a grown vocabulary, say): said, not extracted.
    public let notes: [String]

    /// Opens both models (weights as stored) and checks that their projections match.
    public init(base: String, tuned: String, options: Options) throws {
        guard options.rank >= 1 else {
            throw TensorError(.invalidParameter, "the rank must be at least 1")
        }
        _ = try options.rule?.validated()
        let unknown = options.projections.filter { !ModelWeights.projectionNames.contains($0) }
        guard unknown.isEmpty else {
            throw TensorError(
                .invalidParameter,
                "--modules: \(unknown.joined(separator: ", ")) is not one of \(ModelWeights.projectionNames.joined(separator: ", "))"
            )
        }
        self.base = try TransformerModel(path: base, residency: .stored)
        self.tuned = try TransformerModel(path: tuned, residency: .stored)
        self.options = options
        let (b, t) = (self.base.config, self.tuned.config)
        guard b.modelType == t.modelType else {
            throw FormatError(
                .invalidContent,
                "the base is a \(b.modelType.rawValue) model and this a \(t.modelType.rawValue) one: not a fine-tune of it",
                path: tuned)
        }
        let shapes: [(String, Int, Int)] = [
            ("num_hidden_layers", b.layerCount, t.layerCount), ("hidden_size", b.hiddenSize, t.hiddenSize),
            ("intermediate_size", b.intermediateSize, t.intermediateSize),
            ("num_attention_heads", b.headCount, t.headCount),
            ("num_key_value_heads", b.keyValueHeadCount, t.keyValueHeadCount),
            ("head_dim", b.headDimension, t.headDimension),
        ]
        if let (key, x, y) = shapes.first(where: { $0.1 != $0.2 }) {
            throw FormatError(
                .invalidContent, "the models differ in \(key) (\(x) in the base, \(y) here): not a fine-tune of it",
                path: tuned)
        }
        var notes: [String] = []
        if b.vocabSize != t.vocabSize {
            notes.append(
                "the vocabulary changed from \(b.vocabSize) to \(t.vocabSize) tokens (added tokens): embeddings and head are not part of a LoRA, so only the projections were extracted"
            )
        } else if b.tieWordEmbeddings != t.tieWordEmbeddings {
            notes.append("the head is tied in one model and not the other: embeddings and head are not extracted")
        }
        self.notes = notes
    }

    /// The projections to extract, in the order a writer lays them out.
    public var plan: [(layer: Int, name: String, path: String)] {
        let names = options.projections.isEmpty ? ModelWeights.projectionNames : options.projections
        var out: [(layer: Int, name: String, path: String)] = []
        for l in 0..<base.config.layerCount {
            for name in ModelWeights.projectionNames where names.contains(name) {
                out.append((l, name, LoraModuleInfo.projectionPath(layer: l, projection: name)))
            }
        }
        return out
    }

    /// Extracts one module.
    public func extract(layer: Int, name: String, path: String) throws -> Module {
        guard let (group, index) = Self.locate(name), let (out, inn) = base.config.projectionShape(name) else {
            throw TensorError(.invalidParameter, "no projection \(name)")
        }
        // ΔW = W_tuned − W_base, widened one module at a time.
        var difference = [Float](repeating: 0, count: out * inn)
        var scratch = [Float](repeating: 0, count: out * inn)
        difference.withUnsafeMutableBufferPointer {
            tuned.weights.blocks[layer][group].parts[index].widenAll(into: $0.baseAddress!, parallel: true)
        }
        scratch.withUnsafeMutableBufferPointer {
            base.weights.blocks[layer][group].parts[index].widenAll(into: $0.baseAddress!, parallel: true)
        }
        var squaredNorm = 0.0
        for i in 0..<difference.count {
            difference[i] -= scratch[i]
            squaredNorm += Double(difference[i]) * Double(difference[i])
        }
        scratch = []
        let d = Matrix<Float>(rows: out, columns: inn, elements: difference)
        let width = Swift.min(options.rank + options.oversampling, out, inn)
        var random = SeededGenerator(seed: options.seed, stream: "extract:" + path)
        let omega = Matrix<Float>(
            rows: inn, columns: width, elements: (0..<(inn * width)).map { _ in Float(random.nextNormal()) })
        // Range finder: Y = ΔW Ω, then (ΔW ΔWᵀ)^q Y, re-orthonormalized at each step.
        var q = try Self.orthonormalBasis(d.multiplied(by: omega))
        for _ in 0..<options.powerIterations {
            let z = try Self.orthonormalBasis(d.multiplied(by: q, transposeSelf: true))
            q = try Self.orthonormalBasis(d.multiplied(by: z))
        }
        // ΔW ≈ Q (Qᵀ ΔW); the SVD of the small Qᵀ ΔW (width × in), in Double.
        let small = q.multiplied(by: d, transposeSelf: true).asDouble
        let svd = try small.svd()
        let values = svd.singularValues
        var k = Swift.min(options.rank, values.count)
        if let rule = options.rule { k = Swift.min(k, rule.rank(values, squaredNorm: squaredNorm)) }
        k = Swift.max(k, 1)
        // B = Q Ũ_k √Σ (out × k), A = √Σ V_kᵀ (k × in).
        let left = q.asDouble.multiplied(by: svd.u.columns(0..<k))
        var b = [Float](repeating: 0, count: out * k)
        var a = [Float](repeating: 0, count: k * inn)
        for j in 0..<k {
            let root = values[j].squareRoot()
            for i in 0..<out { b[i * k + j] = Float(left[i, j] * root) }
            for i in 0..<inn { a[j * inn + i] = Float(svd.vt[j, i] * root) }
        }
        let kept = values.prefix(k).reduce(0) { $0 + $1 * $1 }
        let error = squaredNorm > 0 ? (Swift.max(0, squaredNorm - kept) / squaredNorm).squareRoot() : 0
        let info = LoraModuleInfo(
            path: path, rank: k, inFeatures: inn, outFeatures: out, alpha: Double(k), useRSLoRA: false, dtype: .f32)
        return Module(
            info: info, differenceNorm: squaredNorm.squareRoot(), relativeError: error, singularValues: values,
            a: a, b: b)
    }

    /// Extracts every planned module (`progress` sees each) and writes the
    /// adapter; the factors of all modules are held until the write (they are
    /// small), the dense matrices one module at a time.
    public func write(
        to output: String, metadata: AdapterMetadata, overwrite: Bool, options writeOptions: LoraWriteOptions,
        progress: (Module) -> Void = { _ in }
    ) throws -> [Module] {
        var modules: [Module] = []
        for item in plan {
            let m = try extract(layer: item.layer, name: item.name, path: item.path)
            progress(m)
            modules.append(m)
        }
        let byPath = Dictionary(uniqueKeysWithValues: modules.map { ($0.info.path, $0) })
        try AdapterWriter.write(
            modules: modules.map(\.info), metadata: metadata, to: output, overwrite: overwrite,
            options: writeOptions
        ) { info in
            guard let m = byPath[info.path] else {
                throw FormatError(.invalidContent, "no extracted module", path: output, location: info.path)
            }
            return (
                try Tensor(floats: m.a, shape: [m.info.rank, m.info.inFeatures]),
                try Tensor(floats: m.b, shape: [m.info.outFeatures, m.info.rank])
            )
        }
        return modules
    }

    /// The projection group and member index of a projection name.
    static func locate(_ name: String) -> (ProjectionGroup, Int)? {
        for group in ProjectionGroup.allCases {
            if let i = group.members.firstIndex(of: name) { return (group, i) }
        }
        return nil
    }

    /// The Q of a thin QR: orthonormal columns spanning `m`'s.
    static func orthonormalBasis(_ m: Matrix<Float>) throws -> Matrix<Float> {
        try m.asDouble.qr().q.asFloat
    }
}
