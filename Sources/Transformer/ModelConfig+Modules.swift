import AdapterFormat

extension ModelConfig {
    /// Where one adapter module sits in this model.
    public struct ModuleSite: Sendable, Equatable {
        public let layer: Int
        /// `q_proj` … `down_proj`.
        public let projection: String
        /// The projection's weight shape.
        public let out: Int
        public let `in`: Int
    }

    /// Finds an adapter module in this model: `model.layers.N.self_attn.{q,k,v,o}_proj` or
    /// `model.layers.N.mlp.{gate,up,down}_proj`, with N a layer of the model and the
    /// module's shape the projection's. The runtime and the trainers read modules
    /// through this one rule, so an adapter one accepts the other accepts too.
    public func site(of module: LoraModuleInfo, in file: String) throws -> ModuleSite {
        let parts = module.path.split(separator: ".")
        let attention: Set<Substring> = ["q_proj", "k_proj", "v_proj", "o_proj"]
        guard parts.count == 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
            layer >= 0, layer < layerCount, let shape = projectionShape(String(parts[4])),
            parts[3] == (attention.contains(parts[4]) ? "self_attn" : "mlp")
        else {
            throw FormatError(
                .unsupported, "module \(module.path) is not a projection of this \(modelType.rawValue) model",
                path: file)
        }
        guard shape.out == module.outFeatures, shape.in == module.inFeatures else {
            throw FormatError(
                .invalidContent,
                "module \(module.path) is \(module.outFeatures)×\(module.inFeatures), the model's is \(shape.out)×\(shape.in): the adapter is for another base model",
                path: file)
        }
        return ModuleSite(layer: layer, projection: String(parts[4]), out: shape.out, in: shape.in)
    }
}
