/// A dense row-major matrix of `Float` or `Double`, the unit of all linear
/// algebra in adaptermerge.
///
/// Row-major matches the PyTorch layout of `lora_A` (r × in) and `lora_B`
/// (out × r), so adapter tensors become matrices without copying their order.
public struct Matrix<Scalar: BLASScalar>: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Elements in row-major order: element (i, j) is at `i * columns + j`.
    public var elements: [Scalar]

    @inlinable public init(rows: Int, columns: Int, elements: [Scalar]) {
        precondition(
            rows >= 0 && columns >= 0 && elements.count == rows * columns,
            "Matrix: \(elements.count) elements cannot fill \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// An all-zero matrix.
    @inlinable public init(zeros rows: Int, _ columns: Int) {
        self.init(rows: rows, columns: columns, elements: [Scalar](repeating: 0, count: rows * columns))
    }

    /// The identity matrix of size n.
    @inlinable public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(zeros: n, n)
        for i in 0..<n { m.elements[i * n + i] = 1 }
        return m
    }

    @inlinable public subscript(row: Int, column: Int) -> Scalar {
        get { elements[row * columns + column] }
        set { elements[row * columns + column] = newValue }
    }

    /// The transpose, as a new matrix.
    ///
    /// Copied in 32 × 32 tiles, so that both the reads and the strided writes
    /// stay in cache for the tall, narrow factors that LAPACK gets.
    @inlinable public var transposed: Matrix {
        let r = rows
        let c = columns
        let out = [Scalar](unsafeUninitializedCapacity: elements.count) { dst, initialized in
            elements.withUnsafeBufferPointer { src in
                let tile = 32
                for i0 in stride(from: 0, to: r, by: tile) {
                    let i1 = Swift.min(i0 + tile, r)
                    for j0 in stride(from: 0, to: c, by: tile) {
                        let j1 = Swift.min(j0 + tile, c)
                        for i in i0..<i1 {
                            for j in j0..<j1 { dst[j * r + i] = src[i * c + j] }
                        }
                    }
                }
            }
            initialized = r * c
        }
        return Matrix(rows: columns, columns: rows, elements: out)
    }

    /// Every element multiplied by `factor`.
    @inlinable public func scaled(by factor: Scalar) -> Matrix {
        Matrix(rows: rows, columns: columns, elements: elements.map { $0 * factor })
    }

    /// The sum of squared elements.
    @inlinable public var squaredFrobeniusNorm: Scalar {
        elements.withUnsafeBufferPointer { p in
            var s: Scalar = 0
            for v in p { s += v * v }
            return s
        }
    }

    /// The leading `count` rows.
    @inlinable public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(
            rows: range.count, columns: columns,
            elements: Array(elements[(range.lowerBound * columns)..<(range.upperBound * columns)]))
    }

    /// The columns in `range`, copied.
    @inlinable public func columns(_ range: Range<Int>) -> Matrix {
        var out = [Scalar]()
        out.reserveCapacity(rows * range.count)
        for i in 0..<rows {
            out.append(contentsOf: elements[(i * columns + range.lowerBound)..<(i * columns + range.upperBound)])
        }
        return Matrix(rows: rows, columns: range.count, elements: out)
    }

    /// Stacks matrices with equal column counts on top of each other.
    @inlinable public static func vstack(_ parts: [Matrix], columns: Int) -> Matrix {
        var out = [Scalar]()
        out.reserveCapacity(parts.reduce(0) { $0 + $1.elements.count })
        for p in parts {
            precondition(p.columns == columns, "vstack: column count mismatch")
            out.append(contentsOf: p.elements)
        }
        return Matrix(rows: out.count / max(columns, 1), columns: columns, elements: columns == 0 ? [] : out)
    }

    /// Places matrices with equal row counts side by side.
    @inlinable public static func hstack(_ parts: [Matrix], rows: Int) -> Matrix {
        let total = parts.reduce(0) { $0 + $1.columns }
        for p in parts { precondition(p.rows == rows, "hstack: row count mismatch") }
        let out = [Scalar](unsafeUninitializedCapacity: rows * total) { dst, initialized in
            guard let base = dst.baseAddress else {
                initialized = 0
                return
            }
            var offset = 0
            for p in parts where p.columns > 0 {
                p.elements.withUnsafeBufferPointer { src in
                    guard let from = src.baseAddress else { return }
                    for i in 0..<rows {
                        (base + i * total + offset).initialize(from: from + i * p.columns, count: p.columns)
                    }
                }
                offset += p.columns
            }
            initialized = rows * total
        }
        return Matrix(rows: rows, columns: total, elements: out)
    }
}

extension Matrix where Scalar == Float {
    /// Widens to `Double`.
    @inlinable public var asDouble: Matrix<Double> {
        Matrix<Double>(rows: rows, columns: columns, elements: elements.map(Double.init))
    }
}

extension Matrix where Scalar == Double {
    /// Rounds to `Float`.
    @inlinable public var asFloat: Matrix<Float> {
        Matrix<Float>(rows: rows, columns: columns, elements: elements.map(Float.init))
    }
}
