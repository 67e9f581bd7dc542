import AdapterFormat
import Tensors

/// The `.lora` tensor codec alone: no checksums, no files, no `Tensor`.
///
/// ``LoraContainerWriter`` and ``LoraContainerReader`` keep their codec
/// private, so this reproduces it step for step from the public primitives
/// (``BytePlanes``, ``Zstd``) with the same rules: byte planes for floats
/// under `planes`/`auto`, each plane stored as zstd only when that saves at
/// least ``LoraContainerWriter/minimumSaving``, and `auto` falling back to raw
/// when the whole tensor saves less. The benchmark checks that the stored
/// sizes it gets equal the container's and flags every row where they do not,
/// so the two cannot drift apart silently. (Were the writer's `encode` and the
/// reader's `decode` given `package` access, this copy could go.)
enum Codec {
    /// One plane of an encoded tensor: how it is stored and its stored length.
    struct Plane: Sendable, Equatable {
        let codec: TensorEncoding
        let length: Int
    }

    /// One encoded tensor.
    struct Encoded: Sendable {
        let encoding: TensorEncoding
        let stored: [UInt8]
        let planes: [Plane]
    }

    /// Encodes one tensor's raw bytes as the writer would.
    static func encode(_ raw: UnsafeRawBufferPointer, dtype: DType, choice: EncodingChoice, level: Int32) throws -> Encoded {
        if raw.isEmpty || choice == .raw { return Encoded(encoding: .raw, stored: Array(raw), planes: []) }
        let keep = 1 - LoraContainerWriter.minimumSaving
        if dtype.isConvertibleFloat && (choice == .planes || choice == .auto) {
            let width = dtype.byteSize
            let n = raw.count / width
            let split = BytePlanes.split(raw, width: width)
            var stored: [UInt8] = []
            var planes: [Plane] = []
            try split.withUnsafeBytes { all in
                for k in 0..<width {
                    let plane = UnsafeRawBufferPointer(rebasing: all[(k * n)..<((k + 1) * n)])
                    let z = try Zstd.compress(plane, level: level)
                    if Double(z.count) < Double(n) * keep {
                        stored += z
                        planes.append(Plane(codec: .zstd, length: z.count))
                    } else {
                        stored.append(contentsOf: plane)
                        planes.append(Plane(codec: .raw, length: n))
                    }
                }
            }
            if choice == .auto && Double(stored.count) >= Double(raw.count) * keep {
                return Encoded(encoding: .raw, stored: Array(raw), planes: [])
            }
            return Encoded(encoding: .planes, stored: stored, planes: planes)
        }
        let z = try Zstd.compress(raw, level: level)
        if choice == .auto && Double(z.count) >= Double(raw.count) * keep {
            return Encoded(encoding: .raw, stored: Array(raw), planes: [])
        }
        return Encoded(encoding: .zstd, stored: z, planes: [])
    }

    /// Decodes one tensor's stored bytes as the reader does, minus both checksums.
    static func decode(_ stored: UnsafeRawBufferPointer, entry e: LoraTensorEntry) throws -> [UInt8] {
        switch e.encoding {
        case .raw:
            return Array(stored)
        case .zstd:
            if e.rawLength == 0 { return [] }
            return try Zstd.decompress(stored, rawCount: e.rawLength)
        case .planes:
            let width = e.dtype.byteSize
            let planeLength = e.rawLength / width
            var joined: [UInt8] = []
            joined.reserveCapacity(e.rawLength)
            var offset = 0
            for p in e.planes {
                let chunk = UnsafeRawBufferPointer(rebasing: stored[offset..<(offset + p.length)])
                if p.codec == .raw || planeLength == 0 {
                    joined.append(contentsOf: chunk)
                } else {
                    joined.append(contentsOf: try Zstd.decompress(chunk, rawCount: planeLength))
                }
                offset += p.length
            }
            return joined.withUnsafeBytes { BytePlanes.join($0, width: width) }
        }
    }
}
