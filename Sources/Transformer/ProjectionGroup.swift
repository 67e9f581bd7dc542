/// Projections that read the same input, computed as one sgemm.
///
/// q, k and v all read the normed residual, as do gate and up. Stacking
/// their weights row-wise turns three (or two) skinny sgemms into one wide
/// one, which BLAS runs closer to peak; their LoRA A factors are stacked the
/// same way (``LoRAGroup``).
public enum ProjectionGroup: Int, CaseIterable, Sendable {
    case qkv, o, gateUp, down

    /// The member projections, in stacking order.
    public var members: [String] {
        switch self {
        case .qkv: ["q_proj", "k_proj", "v_proj"]
        case .o: ["o_proj"]
        case .gateUp: ["gate_proj", "up_proj"]
        case .down: ["down_proj"]
        }
    }

    /// The group a projection belongs to, and its first output column there.
    static func locate(_ name: String, config: ModelConfig) -> (group: ProjectionGroup, offset: Int)? {
        for group in allCases {
            var offset = 0
            for member in group.members {
                if member == name { return (group, offset) }
                offset += config.projectionShape(member)?.out ?? 0
            }
        }
        return nil
    }
}
