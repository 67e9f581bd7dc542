import AdapterFormat
import Tensors

/// The `.lora` tensor codec alone: no checksums, no files, no `Tensor`.
///
/// A thin view of the container's own codec (``LoraContainerWriter/encode(_:dtype:options:)``
/// and ``LoraContainerReader/decode(_:entry:)``), so the benchmark times exactly
/// what the container runs.
enum Codec {
    typealias Plane = LoraTensorEntry.Plane

    /// One encoded tensor.
    struct Encoded: Sendable {
        let encoding: TensorEncoding
        let stored: [UInt8]
        let planes: [Plane]
    }

    /// Encodes one tensor's raw bytes as the writer does.
    static func encode(_ raw: UnsafeRawBufferPointer, dtype: DType, choice: EncodingChoice, level: Int32) throws
        -> Encoded
    {
        let e = try LoraContainerWriter.encode(
            raw, dtype: dtype, options: LoraWriteOptions(encoding: choice, level: level))
        return Encoded(encoding: e.encoding, stored: e.stored, planes: e.planes)
    }

    /// Decodes one tensor's stored bytes as the reader does, minus both checksums.
    static func decode(_ stored: UnsafeRawBufferPointer, entry e: LoraTensorEntry) throws -> [UInt8] {
        try LoraContainerReader.decode(stored, entry: e)
    }
}
