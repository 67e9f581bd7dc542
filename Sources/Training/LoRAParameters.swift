import AdapterFormat
import Foundation
import Tensors
import Transformer

/// The trainable LoRA factors of a model, one module per targeted projection
/// of every layer, as PEFT lays them out: `A` (r × in), `B` (out × r), and
/// the update `scaling · B · A`.
public final class LoRAParameters<Scalar: TrainingScalar>: @unchecked Sendable {
    public struct Module {
        public let info: LoraModuleInfo
        public let layer: Int
        public let projection: String
        public let group: ProjectionGroup
        /// First output column of the projection within its group's output.
        public let column: Int
        public let a: Storage<Scalar>
        public let b: Storage<Scalar>
        public var rank: Int { info.rank }
        public var inFeatures: Int { info.inFeatures }
        public var outFeatures: Int { info.outFeatures }
        public var scaling: Scalar { Scalar(info.scaling) }
    }

    public let modules: [Module]
    /// `index[layer][projection]` → position in ``modules``.
    let index: [[String: Int]]

    public static var allProjections: [String] { ModelWeights.projectionNames }

    init(modules: [Module], layers: Int) {
        self.modules = modules
        var index = [[String: Int]](repeating: [:], count: layers)
        for (i, m) in modules.enumerated() { index[m.layer][m.projection] = i }
        self.index = index
    }

    /// No modules: the base model alone (full-parameter training).
    public static func none(layers: Int) -> LoRAParameters { LoRAParameters(modules: [], layers: layers) }

    /// Modules of `layer` in `group`, in the group's member order.
    func modules(layer: Int, group: ProjectionGroup) -> [Int] {
        guard index.indices.contains(layer) else { return [] }
        return group.members.compactMap { index[layer][$0] }
    }

    /// Fresh factors as PEFT initialises them: `A` from kaiming-uniform with
    /// a = √5 (uniform in ±1/√in), `B` zero, so training starts from the base model.
    public static func initialized(
        config: ModelConfig, rank: Int, alpha: Double, useRSLoRA: Bool = false,
        targets: [String], seed: UInt64
    ) -> LoRAParameters {
        var generator = TrainingRandom(seed: seed, stream: "lora-init")
        var modules: [Module] = []
        for layer in 0..<config.layerCount {
            for projection in allProjections where targets.contains(projection) {
                let (out, inn) = config.projectionShape(projection)!
                let a = Storage<Scalar>(rank * inn)
                let bound = 1 / Double(inn).squareRoot()
                for i in 0..<(rank * inn) { a.p[i] = Scalar(Float((generator.uniform() * 2 - 1) * bound)) }
                modules.append(
                    module(
                        config: config, layer: layer, projection: projection, rank: rank, alpha: alpha,
                        useRSLoRA: useRSLoRA, a: a, b: Storage(out * rank)))
            }
        }
        return LoRAParameters(modules: modules, layers: config.layerCount)
    }

    /// The factors of an existing adapter (`--init`, or a test's starting point).
    public static func loaded(from source: any AdapterSource, config: ModelConfig) throws -> LoRAParameters {
        var modules: [Module] = []
        for m in source.modules {
            let site = try config.site(of: m, in: source.location)
            let (a, b) = try source.finiteFactors(of: m)
            modules.append(
                module(
                    config: config, layer: site.layer, projection: site.projection, rank: m.rank, alpha: m.alpha,
                    useRSLoRA: m.useRSLoRA, a: Storage(converting: try a.floats()),
                    b: Storage(converting: try b.floats())))
        }
        return LoRAParameters(modules: modules, layers: config.layerCount)
    }

    static func module(
        config: ModelConfig, layer: Int, projection: String, rank: Int, alpha: Double, useRSLoRA: Bool,
        a: Storage<Scalar>, b: Storage<Scalar>
    ) -> Module {
        let (out, inn) = config.projectionShape(projection)!
        let group = ProjectionGroup.allCases.first { $0.members.contains(projection) }!
        var column = 0
        for member in group.members {
            if member == projection { break }
            column += config.projectionShape(member)!.out
        }
        let section = ["gate_proj", "up_proj", "down_proj"].contains(projection) ? "mlp" : "self_attn"
        let info = LoraModuleInfo(
            path: "model.layers.\(layer).\(section).\(projection)", rank: rank, inFeatures: inn,
            outFeatures: out, alpha: alpha, useRSLoRA: useRSLoRA, dtype: .f32)
        return Module(info: info, layer: layer, projection: projection, group: group, column: column, a: a, b: b)
    }

    /// Zero-filled storage of the same shapes, for gradients and optimizer moments.
    public func zerosLike() -> LoRAParameters {
        LoRAParameters(
            modules: modules.map {
                Module(
                    info: $0.info, layer: $0.layer, projection: $0.projection, group: $0.group, column: $0.column,
                    a: Storage($0.a.count), b: Storage($0.b.count))
            }, layers: index.count)
    }

    /// A deep copy (the best checkpoint so far).
    public func copy() -> LoRAParameters {
        LoRAParameters(
            modules: modules.map {
                Module(
                    info: $0.info, layer: $0.layer, projection: $0.projection, group: $0.group, column: $0.column,
                    a: $0.a.copy(), b: $0.b.copy())
            }, layers: index.count)
    }

    /// Every factor, A then B per module: what the optimizer walks over.
    public var tensors: [Storage<Scalar>] { modules.flatMap { [$0.a, $0.b] } }

    public var parameterCount: Int { modules.reduce(0) { $0 + $1.a.count + $1.b.count } }

    /// Writes the factors as a `.lora` file or PEFT directory (f32).
    public func write(
        to path: String, metadata: AdapterMetadata, overwrite: Bool, dtype: DType? = nil,
        options: LoraWriteOptions = LoraWriteOptions()
    ) throws {
        let byPath = Dictionary(uniqueKeysWithValues: modules.map { ($0.info.path, $0) })
        try AdapterWriter.write(
            modules: modules.map(\.info), metadata: metadata, to: path, overwrite: overwrite, dtype: dtype,
            options: options
        ) { info in
            let m = byPath[info.path]!
            return (
                try Tensor(floats: m.a.array.map { Float($0) }, shape: [m.rank, m.inFeatures]),
                try Tensor(floats: m.b.array.map { Float($0) }, shape: [m.outFeatures, m.rank])
            )
        }
    }
}
