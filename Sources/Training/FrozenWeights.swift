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
        /// rows × columns (the members' output rows stacked), row-major.
        public let weight: Storage<Scalar>
        public let rows: Int
        public let columns: Int
        public let bias: Storage<Scalar>?
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

    public init(_ weights: ModelWeights, config: ModelConfig) {
        self.config = config
        embedding = Storage(converting: weights.embedding.values)
        layers = weights.blocks.map { block in
            Layer(inputNorm: Storage(converting: block.inputNorm),
                  postAttentionNorm: Storage(converting: block.postAttentionNorm),
                  groups: ProjectionGroup.allCases.map { g in
                      let w = block[g]
                      return Group(weight: Storage(converting: w.weight.values), rows: w.weight.rows, columns: w.weight.columns,
                                   bias: w.bias.map { Storage(converting: $0) })
                  })
        }
        finalNorm = Storage(converting: weights.finalNorm)
        head = config.tieWordEmbeddings ? embedding : Storage(converting: weights.head.values)
    }

    /// Makes the RoPE tables cover `length` positions.
    func ensureRope(_ length: Int) {
        guard length > ropeLength else { return }
        let half = config.headDimension / 2
        let inv = config.inverseFrequencies.map(Float.init)
        var cos = [Scalar](repeating: 0, count: length * half), sin = cos
        for t in 0..<length {
            for i in 0..<half {
                let angle = Float(t) * inv[i]
                cos[t * half + i] = Scalar(Foundation.cos(angle))
                sin[t * half + i] = Scalar(Foundation.sin(angle))
            }
        }
        ropeCos = cos
        ropeSin = sin
        ropeLength = length
    }
}
