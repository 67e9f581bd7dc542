import AdapterFormat
import Tensors

/// LoRA adapters applied unmerged, each with its own weight, as llama.cpp's
/// `--lora-scaled` does: `y = x Wᵀ + Σ wᵢ sᵢ (x Aᵢᵀ) Bᵢᵀ`.
public struct AdapterStack: Sendable {
    /// One adapter's update of one projection, with scaling and weight folded into `scale`.
    public struct Term: Sendable {
        public let rank: Int
        /// r × in, row-major.
        public let a: [Float]
        /// out × r, row-major.
        public let b: [Float]
        public let scale: Float
    }

    /// `terms[layer][projection]`.
    public private(set) var terms: [[String: [Term]]]

    /// `groups[layer][group.rawValue]`: the same terms arranged for the
    /// stacked projections, `nil` where a group has none.
    public private(set) var groups: [[LoRAGroup?]]

    public static let empty = AdapterStack(layers: 0)

    init(layers: Int) {
        terms = Array(repeating: [:], count: layers)
        groups = Array(repeating: Array(repeating: nil, count: ProjectionGroup.allCases.count), count: layers)
    }

    /// The group's LoRA terms in `layer`, if any.
    public func group(_ group: ProjectionGroup, layer: Int) -> LoRAGroup? {
        groups.indices.contains(layer) ? groups[layer][group.rawValue] : nil
    }

    /// Maps every module of every adapter onto the model's projections, checking shapes.
    ///
    /// - Parameter layerBands: per adapter (by index), factors on its weight per
    ///   band of layers, as `combine --layer-weights` applies them.
    public init(
        adapters: [(source: any AdapterSource, weight: Double)], config: ModelConfig,
        layerBands: [Int: LayerBands] = [:]
    ) throws {
        self.init(layers: config.layerCount)
        for (index, (source, baseWeight)) in adapters.enumerated() {
            for module in source.modules {
                let site = try config.site(of: module, in: source.location)
                let layer = site.layer
                let weight = baseWeight * (layerBands[index]?.factor(layer: layer) ?? 1)
                if weight == 0 && layerBands[index] != nil { continue }
                let (a, b) = try source.finiteFactors(of: module)
                terms[layer][site.projection, default: []].append(
                    Term(rank: module.rank, a: try a.floats(), b: try b.floats(), scale: Float(module.scaling * weight))
                )
            }
        }
        for layer in terms.indices {
            for group in ProjectionGroup.allCases {
                var a: [Float] = []
                var segments: [LoRAGroup.Segment] = []
                var rank = 0
                for name in group.members {
                    guard let located = ProjectionGroup.locate(name, config: config),
                        let width = config.projectionShape(name)?.out
                    else { continue }
                    for term in terms[layer][name] ?? [] where term.rank > 0 {
                        a += term.a
                        segments.append(
                            .init(
                                column: located.offset, width: width, row: rank, rank: term.rank,
                                b: term.b, scale: term.scale))
                        rank += term.rank
                    }
                }
                if rank > 0 { groups[layer][group.rawValue] = LoRAGroup(a: a, rank: rank, segments: segments) }
            }
        }
    }

    public var isEmpty: Bool { terms.allSatisfy(\.isEmpty) }
}

/// The LoRA terms of one ``ProjectionGroup`` in one layer, as two steps:
/// `t = x · Aᵀ` with every term's A stacked (one sgemm for the whole group),
/// then `y[:, column ..< column + width] += scale · t[:, row ..< row + rank] · Bᵀ`
/// per term.
public struct LoRAGroup: Sendable {
    public struct Segment: Sendable {
        /// First output column of the projection within the group's output.
        public let column: Int
        /// The projection's output width.
        public let width: Int
        /// First column of this term within `t`.
        public let row: Int
        public let rank: Int
        /// width × rank, row-major.
        public let b: [Float]
        public let scale: Float
    }

    /// rank × in, row-major: the members' A factors stacked.
    public let a: [Float]
    /// Total rank of the group (columns of `t`).
    public let rank: Int
    public let segments: [Segment]
}
