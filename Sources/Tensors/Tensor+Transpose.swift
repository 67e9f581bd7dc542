extension Tensor {
    /// The transpose of a 2-D tensor, element bytes moved as they are (bit
    /// for bit, any dtype): MLX stores LoRA factors transposed against PEFT.
    public func transposed() throws -> Tensor {
        guard shape.count == 2 else {
            throw TensorError(.invalidShape, "only a 2-D tensor can be transposed, not shape \(shape)")
        }
        let (rows, columns) = (shape[0], shape[1])
        let size = dtype.byteSize
        var out = [UInt8](repeating: 0, count: bytes.count)
        bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                guard let s = source.baseAddress, let t = target.baseAddress else { return }
                for r in 0..<rows {
                    for c in 0..<columns {
                        (t + (c * rows + r) * size).copyMemory(from: s + (r * columns + c) * size, byteCount: size)
                    }
                }
            }
        }
        return try Tensor(dtype: dtype, shape: [columns, rows], bytes: out)
    }
}

extension Tensor {
    /// A 2-D tensor with zero rows appended up to `rows` (the same tensor when it has as many).
    public func paddedRows(to rows: Int) throws -> Tensor {
        guard shape.count == 2, rows > shape[0] else { return self }
        return try Tensor(
            dtype: dtype, shape: [rows, shape[1]],
            bytes: bytes + [UInt8](repeating: 0, count: (rows - shape[0]) * shape[1] * dtype.byteSize))
    }
}

extension Tensor {
    /// The first `rows` rows of a 2-D tensor.
    public func firstRows(_ rows: Int) throws -> Tensor {
        guard shape.count == 2, rows < shape[0] else { return self }
        return try Tensor(
            dtype: dtype, shape: [rows, shape[1]], bytes: Array(bytes.prefix(rows * shape[1] * dtype.byteSize)))
    }
}
