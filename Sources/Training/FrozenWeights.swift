import AdapterFormat
import Foundation
import Tensors
import Transformer

/// The base model's weights in the training scalar type. They are read, never
/// updated, and never copied per step.
///
/// `Float` training converts them once from ``ModelWeights``; `Double` is for
/// the finite-difference tests on tiny models.
public final class FrozenWeights<Scalar: TrainingScalar>: @unchecked Sendable {
    public struct Group {
        public let rows: Int
        public let columns: Int
        public let bias: Storage<Scalar>?
        let source: Source

        /// Where the weights are: owned in `Scalar` (fresh weights for
        /// pretraining, or `Double`), or the model's own `Float` weights, read
        /// in place when resident and widened per use when stored (``WeightResidency``).
        enum Source {
            case owned(Storage<Scalar>)
            case model(GroupWeights)
        }

        /// rows × columns (the members' output rows stacked), row-major, when owned.
        public var storage: Storage<Scalar>? {
            if case .owned(let s) = source { return s }
            return nil
        }

        /// Calls `body` with the weights (rows × columns).
        public func withWeight<R>(_ body: (UnsafePointer<Scalar>) throws -> R) rethrows -> R {
            switch source {
            case .owned(let storage):
                return try body(storage.p)
            case .model(let weights):
                let count = rows * columns
                return try weights.withFloats(scratch: nil, parallel: false) { floats in
                    if Scalar.self == Float.self {
                        return try floats.withMemoryRebound(to: Scalar.self, capacity: count, body)
                    }
                    let converted = Storage<Scalar>(uninitialized: count)
                    for i in 0..<count { converted.p[i] = Scalar(floats[i]) }
                    return try body(converted.p)
                }
            }
        }
    }

    public struct Layer {
        public let inputNorm: Storage<Scalar>
        public let postAttentionNorm: Storage<Scalar>
        /// By ``ProjectionGroup/rawValue``.
        public let groups: [Group]
        public subscript(group: ProjectionGroup) -> Group { groups[group.rawValue] }
    }

    public let config: ModelConfig
    public let embedding: Storage<Scalar>
    public let layers: [Layer]
    public let finalNorm: Storage<Scalar>
    public let head: Storage<Scalar>
    /// RoPE tables for `ropeLength` positions: cos and sin of the float32
    /// angles, as transformers (and the runtime) compute them.
    private(set) var ropeCos: [Scalar] = []
    private(set) var ropeSin: [Scalar] = []
    private(set) var ropeLength = 0

    /// The base model's weights for training. `Float` projections are read
    /// from the model's store (no copy); embedding and head are shared when
    /// resident and widened once when stored. `Double` converts everything.
    public init(_ weights: ModelWeights, config: ModelConfig) {
        self.config = config
        let inPlace = Scalar.self == Float.self
        func matrix(_ m: StoredMatrix) -> Storage<Scalar> {
            let s = Storage<Scalar>(uninitialized: m.rows * m.columns)
            if inPlace {
                s.p.withMemoryRebound(to: Float.self, capacity: s.count) { m.widenAll(into: $0, parallel: true) }
            } else {
                let floats = FloatBuffer(s.count)
                m.widenAll(into: floats.p, parallel: true)
                for i in 0..<s.count { s.p[i] = Scalar(floats.p[i]) }
            }
            return s
        }
        embedding = matrix(weights.embedding)
        layers = weights.blocks.map { block in
            Layer(
                inputNorm: Storage(converting: block.inputNorm),
                postAttentionNorm: Storage(converting: block.postAttentionNorm),
                groups: ProjectionGroup.allCases.map { g in
                    let w = block[g]
                    var source = Group.Source.model(w)
                    if !inPlace {
                        // Double (the finite-difference tests): converted once, not per use.
                        let s = Storage<Scalar>(uninitialized: w.rows * w.columns)
                        w.withFloats(scratch: nil, parallel: true) { p in
                            for i in 0..<s.count { s.p[i] = Scalar(p[i]) }
                        }
                        source = .owned(s)
                    }
                    return Group(
                        rows: w.rows, columns: w.columns, bias: w.bias.map { Storage(converting: $0) }, source: source)
                })
        }
        finalNorm = Storage(converting: weights.finalNorm)
        head = config.tieWordEmbeddings ? embedding : matrix(weights.head)
    }

    /// Fresh weights as transformers initialises a Llama-family model: every
    /// matrix normal(0, `initializerRange`), every norm weight 1, no biases.
    public init(randomFor config: ModelConfig, initializerRange: Double = 0.02, seed: UInt64) {
        self.config = config
        var random = TrainingRandom(seed: seed, stream: "base-init")
        func normal(_ count: Int) -> Storage<Scalar> {
            let s = Storage<Scalar>(uninitialized: count)
            var i = 0
            while i < count {
                // Box–Muller: two normals per pair of uniforms.
                let u = Swift.max(random.uniform(), 1e-300)
                let v = random.uniform()
                let r = (-2 * Foundation.log(u)).squareRoot() * initializerRange
                s.p[i] = Scalar(Float(r * Foundation.cos(2 * .pi * v)))
                if i + 1 < count { s.p[i + 1] = Scalar(Float(r * Foundation.sin(2 * .pi * v))) }
                i += 2
            }
            return s
        }
        func ones(_ count: Int) -> Storage<Scalar> {
            let s = Storage<Scalar>(uninitialized: count)
            s.p.update(repeating: 1, count: count)
            return s
        }
        let h = config.hiddenSize
        embedding = normal(config.vocabSize * h)
        layers = (0..<config.layerCount).map { _ in
            Layer(
                inputNorm: ones(h), postAttentionNorm: ones(h),
                groups: ProjectionGroup.allCases.map { g in
                    let rows = g.members.reduce(0) { $0 + config.projectionShape($1)!.out }
                    let columns = config.projectionShape(g.members[0])!.in
                    return Group(rows: rows, columns: columns, bias: nil, source: .owned(normal(rows * columns)))
                })
        }
        finalNorm = ones(h)
        head = config.tieWordEmbeddings ? embedding : normal(config.vocabSize * h)
    }

    /// The tensors of a transformers checkpoint (`model.safetensors` names),
    /// q‖k‖v and gate‖up split back into their projections, in `dtype`.
    public func checkpointTensors(dtype: DType) throws -> [(name: String, tensor: Tensor)] {
        let c = config
        let h = c.hiddenSize
        func tensor(_ s: Storage<Scalar>, shape: [Int]) throws -> Tensor {
            try tensor(s.p, count: s.count, shape: shape)
        }
        func tensor(_ p: UnsafePointer<Scalar>, count: Int, shape: [Int]) throws -> Tensor {
            try Tensor(floats: (0..<count).map { Float(p[$0]) }, shape: shape, dtype: dtype)
        }
        var out: [(name: String, tensor: Tensor)] = [
            ("model.embed_tokens.weight", try tensor(embedding, shape: [c.vocabSize, h]))
        ]
        for (l, layer) in layers.enumerated() {
            let prefix = "model.layers.\(l)."
            out.append((prefix + "input_layernorm.weight", try tensor(layer.inputNorm, shape: [h])))
            out.append((prefix + "post_attention_layernorm.weight", try tensor(layer.postAttentionNorm, shape: [h])))
            for group in ProjectionGroup.allCases {
                let g = layer[group]
                var row = 0
                for member in group.members {
                    let (rows, columns) = c.projectionShape(member)!
                    let section = group == .gateUp || group == .down ? "mlp." : "self_attn."
                    let start = row * columns
                    out.append(
                        (
                            prefix + section + member + ".weight",
                            try g.withWeight { try tensor($0 + start, count: rows * columns, shape: [rows, columns]) }
                        ))
                    row += rows
                }
            }
        }
        out.append(("model.norm.weight", try tensor(finalNorm, shape: [h])))
        if head !== embedding { out.append(("lm_head.weight", try tensor(head, shape: [c.vocabSize, h]))) }
        return out
    }

    /// Makes the RoPE tables cover `length` positions (before any parallel part runs).
    func ensureRope(_ length: Int) {
        guard length > ropeLength else { return }
        let (cos, sin) = config.ropeTables(positions: length)
        ropeCos = cos.map { Scalar($0) }
        ropeSin = sin.map { Scalar($0) }
        ropeLength = length
    }
}
