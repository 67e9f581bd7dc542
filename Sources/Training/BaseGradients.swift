import Tensors
import Transformer

/// Gradients for every base weight, laid out as ``FrozenWeights``: what
/// full-parameter training (pretraining a base model) needs on top of the
/// LoRA factors' gradients.
public final class BaseGradients<Scalar: TrainingScalar>: @unchecked Sendable {
    public struct Layer {
        public let inputNorm: Storage<Scalar>
        public let postAttentionNorm: Storage<Scalar>
        /// By ``ProjectionGroup/rawValue``, rows × columns like the weights.
        public let groups: [Storage<Scalar>]
    }

    public let embedding: Storage<Scalar>
    public let layers: [Layer]
    public let finalNorm: Storage<Scalar>
    /// The LM head's gradient; `nil` when the head is the embedding (tied), whose gradient then gets both.
    public let head: Storage<Scalar>?

    /// Zeros shaped like `weights`.
    public init(like weights: FrozenWeights<Scalar>) {
        embedding = Storage(weights.embedding.count)
        layers = weights.layers.map { l in
            Layer(
                inputNorm: Storage(l.inputNorm.count), postAttentionNorm: Storage(l.postAttentionNorm.count),
                groups: l.groups.map { Storage($0.rows * $0.columns) })
        }
        finalNorm = Storage(weights.finalNorm.count)
        head = weights.head === weights.embedding ? nil : Storage(weights.head.count)
    }

    /// The gradient the head's products add to: its own, or the tied embedding's.
    var headTarget: Storage<Scalar> { head ?? embedding }

    /// Every gradient, in the order of ``FrozenWeights/trainableTensors``.
    public var tensors: [Storage<Scalar>] {
        [embedding] + layers.flatMap { [$0.inputNorm, $0.postAttentionNorm] + $0.groups } + [finalNorm]
            + (head.map { [$0] } ?? [])
    }

    public func zero() { for t in tensors { t.zero() } }
}

extension FrozenWeights {
    /// Every weight full-parameter training updates, in the order of ``BaseGradients/tensors``.
    public var trainableTensors: [Storage<Scalar>] {
        [embedding] + layers.flatMap { [$0.inputNorm, $0.postAttentionNorm] + $0.groups.compactMap(\.storage) } + [
            finalNorm
        ]
            + (head === embedding ? [] : [head])
    }
}
