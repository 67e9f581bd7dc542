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
        precondition(rows >= 0 && columns >= 0 && elements.count == rows * columns,
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
    @inlinable public var transposed: Matrix {
        var out = [Scalar](repeating: 0, count: elements.count)
        let r = rows, c = columns
        elements.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<r {
                    for j in 0..<c { dst[j * r + i] = src[i * c + j] }
                }
            }
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
        Matrix(rows: range.count, columns: columns,
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
        return Matrix(rows: out.count / max(columns, 1) , columns: columns, elements: columns == 0 ? [] : out)
    }

    /// Places matrices with equal row counts side by side.
    @inlinable public static func hstack(_ parts: [Matrix], rows: Int) -> Matrix {
        let total = parts.reduce(0) { $0 + $1.columns }
        var out = [Scalar](repeating: 0, count: rows * total)
        var offset = 0
        for p in parts {
            precondition(p.rows == rows, "hstack: row count mismatch")
            for i in 0..<rows {
                for j in 0..<p.columns { out[i * total + offset + j] = p.elements[i * p.columns + j] }
            }
            offset += p.columns
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
