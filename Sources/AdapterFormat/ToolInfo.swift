/// The tool's identity, recorded in the lineage of every adapter it makes.
public enum ToolInfo {
    public static let name = "adaptermerge"
    public static let version = "0.1.0"
    public static var identifier: String { "\(name) \(version)" }
}
