import Tensors

/// A heap buffer of scalars, zero-filled, freed with its last reference.
///
/// The training graph keeps its activations and gradients in these: raw
/// pointers for BLAS and the hot loops, and an owner that cannot leak.
public final class Storage<Scalar: TrainingScalar>: @unchecked Sendable {
    public let count: Int
    public let p: UnsafeMutablePointer<Scalar>

    public init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    /// Storage whose every element the caller writes before reading: no zero fill.
    public init(uninitialized count: Int) {
        self.count = count
        p = .allocate(capacity: Swift.max(count, 1))
    }

    public convenience init(_ values: [Scalar]) {
        self.init(values.count)
        values.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Widens (or narrows) `Float` values.
    public convenience init(converting values: [Float]) {
        self.init(values.count)
        for i in 0..<values.count { p[i] = Scalar(values[i]) }
    }

    deinit { p.deallocate() }

    public var array: [Scalar] { Array(UnsafeBufferPointer(start: p, count: count)) }

    public func zero() { p.update(repeating: 0, count: count) }

    /// A copy with its own buffer.
    public func copy() -> Storage {
        let out = Storage(uninitialized: count)
        out.p.update(from: p, count: count)
        return out
    }
}
