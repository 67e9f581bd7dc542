/// Per-layer factors for one input of a merge: bands of layers, each with a
/// factor that multiplies the input's weight there. Layers outside every band
/// keep factor 1.
///
/// Written as `a-b=f` (layers a to b, inclusive), `a-=f` (a to the last),
/// `-b=f` (0 to b) or `a=f` (one layer), comma-separated: `16-=0` keeps an
/// alignment adapter only below layer 16.
public struct LayerBands: Sendable, Equatable, CustomStringConvertible {
    public struct Band: Sendable, Equatable {
        public let lower: Int
        /// Inclusive; `nil` runs to the last layer.
        public let upper: Int?
        public let factor: Double

        public init(lower: Int, upper: Int?, factor: Double) {
            self.lower = lower
            self.upper = upper
            self.factor = factor
        }

        func contains(_ layer: Int) -> Bool { layer >= lower && (upper.map { layer <= $0 } ?? true) }
    }

    public let bands: [Band]

    public init(bands: [Band]) throws {
        for (i, a) in bands.enumerated() {
            if let upper = a.upper, upper < a.lower {
                throw FormatError(.invalidContent, "layer band \(a.lower)-\(upper) is empty")
            }
            guard a.factor.isFinite else { throw FormatError(.invalidContent, "layer band factors must be finite") }
            for b in bands[(i + 1)...] {
                let overlap = max(a.lower, b.lower) <= min(a.upper ?? .max, b.upper ?? .max)
                if overlap {
                    throw FormatError(.invalidContent, "layer bands \(Self.text(a)) and \(Self.text(b)) overlap")
                }
            }
        }
        self.bands = bands.sorted { $0.lower < $1.lower }
    }

    /// Parses `a-b=f,c-=g`.
    public init(parsing text: String) throws {
        guard let parts = CommaList.items(text) else {
            throw FormatError(.invalidContent, "layer bands \"\(text)\" have an empty item")
        }
        var bands: [Band] = []
        for part in parts {
            let pieces = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pieces.count == 2, let factor = Double(CommaList.trimmed(pieces[1])) else {
                throw FormatError(.invalidContent, "layer band \"\(part)\" is not layers=factor (e.g. 0-15=1 or 16-=0)")
            }
            let range = CommaList.trimmed(pieces[0])
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
            func number(_ s: Substring) throws -> Int {
                guard let n = Int(s), n >= 0 else {
                    throw FormatError(.invalidContent, "layer band \"\(part)\": \"\(s)\" is not a layer index")
                }
                return n
            }
            switch bounds.count {
            case 1: bands.append(Band(lower: try number(bounds[0]), upper: try number(bounds[0]), factor: factor))
            case 2:
                let lower = bounds[0].isEmpty ? 0 : try number(bounds[0])
                let upper = bounds[1].isEmpty ? nil : try number(bounds[1])
                bands.append(Band(lower: lower, upper: upper, factor: factor))
            default: throw FormatError(.invalidContent, "layer band \"\(part)\" has more than one range")
            }
        }
        guard !bands.isEmpty else { throw FormatError(.invalidContent, "no layer bands given") }
        try self.init(bands: bands)
    }

    /// The factor at `layer` (1 for a module with no layer, and outside every band).
    public func factor(layer: Int?) -> Double {
        guard let layer else { return 1 }
        return bands.first { $0.contains(layer) }?.factor ?? 1
    }

    public var description: String { bands.map(Self.text).joined(separator: ",") }

    static func text(_ b: Band) -> String {
        let range = b.upper == b.lower ? "\(b.lower)" : "\(b.lower)-\(b.upper.map(String.init) ?? "")"
        let factor = b.factor == b.factor.rounded() && abs(b.factor) < 1e15 ? String(Int(b.factor)) : String(b.factor)
        return "\(range)=\(factor)"
    }
}
