import Foundation
import Tensors

/// How the factors move given their gradients.
public enum OptimizerKind: String, Sendable, CaseIterable {
    case adamw
    case sgd
}

/// AdamW (decoupled weight decay, as `torch.optim.AdamW`) or plain SGD over
/// the LoRA factors, with the learning rate set per step by the schedule.
public final class Optimizer<Scalar: TrainingScalar> {
    public struct Settings: Sendable, Equatable {
        public var kind: OptimizerKind = .adamw
        public var beta1 = 0.9
        public var beta2 = 0.999
        public var epsilon = 1e-8
        public var weightDecay = 0.0
        public init(
            kind: OptimizerKind = .adamw, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
            weightDecay: Double = 0
        ) {
            self.kind = kind
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    private var first: [Storage<Scalar>] = []
    private var second: [Storage<Scalar>] = []
    public private(set) var steps = 0

    public init(_ settings: Settings) { self.settings = settings }

    /// One update of `parameters` from `gradients` at learning rate `lr`.
    public func step(_ parameters: LoRAParameters<Scalar>, _ gradients: LoRAParameters<Scalar>, lr: Double) {
        step(parameters.tensors, gradients.tensors, lr: lr)
    }

    /// One update of any list of tensors (the same list, in the same order, every step).
    public func step(_ ps: [Storage<Scalar>], _ gs: [Storage<Scalar>], lr: Double) {
        steps += 1
        switch settings.kind {
        case .sgd:
            let rate = Scalar(lr)
            for (p, g) in zip(ps, gs) { for i in 0..<p.count { p.p[i] -= rate * g.p[i] } }
        case .adamw:
            if first.isEmpty {
                first = ps.map { Storage($0.count) }
                second = ps.map { Storage($0.count) }
            }
            let b1 = settings.beta1
            let b2 = settings.beta2
            let correction1 = 1 - Foundation.pow(b1, Double(steps))
            let correction2 = 1 - Foundation.pow(b2, Double(steps))
            let stepSize = Scalar(lr / correction1)
            let rootCorrection2 = Scalar(correction2.squareRoot())
            let decay = Scalar(1 - lr * settings.weightDecay)
            let eps = Scalar(settings.epsilon)
            let sb1 = Scalar(b1)
            let sb2 = Scalar(b2)
            for k in ps.indices {
                let p = ps[k].p
                let g = gs[k].p
                let m = first[k].p
                let v = second[k].p
                for i in 0..<ps[k].count {
                    if settings.weightDecay != 0 { p[i] *= decay }
                    m[i] = sb1 * m[i] + (1 - sb1) * g[i]
                    v[i] = sb2 * v[i] + (1 - sb2) * g[i] * g[i]
                    p[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + eps)
                }
            }
        }
    }
}

/// Global-norm clipping over a list of gradients, as `torch.nn.utils.clip_grad_norm_` does.
public enum GradientClipping {
    /// The global L2 norm of all `tensors`.
    public static func norm<Scalar: TrainingScalar>(_ tensors: [Storage<Scalar>]) -> Double {
        var sum = 0.0
        for t in tensors { for i in 0..<t.count { sum += Double(t.p[i]) * Double(t.p[i]) } }
        return sum.squareRoot()
    }

    /// Scales every gradient so their global norm is at most `maximum`; returns the norm before.
    @discardableResult
    public static func clip<Scalar: TrainingScalar>(_ tensors: [Storage<Scalar>], to maximum: Double) -> Double {
        let total = norm(tensors)
        let coefficient = maximum / (total + 1e-6)
        if coefficient < 1 {
            let c = Scalar(coefficient)
            for t in tensors { for i in 0..<t.count { t.p[i] *= c } }
        }
        return total
    }
}

extension LoRAParameters {
    /// The global L2 norm of every factor's gradient (these are gradients).
    public var norm: Double { GradientClipping.norm(tensors) }

    /// Scales every gradient so their global norm is at most `maximum`, as
    /// `torch.nn.utils.clip_grad_norm_` does; returns the norm before clipping.
    @discardableResult
    public func clip(to maximum: Double) -> Double { GradientClipping.clip(tensors, to: maximum) }

    /// Sets every factor to zero (between optimizer steps, for gradients).
    public func zero() { for t in tensors { t.zero() } }
}

/// The learning-rate schedule: linear warm-up, then inverse square root, as
/// transformers' `get_inverse_sqrt_schedule` (timescale = the warm-up steps,
/// or 10 000 without warm-up). Like transformers, step 0 of a warm-up has rate 0.
public struct LearningRateSchedule: Sendable {
    public let peak: Double
    public let warmupSteps: Int

    public init(peak: Double, warmupSteps: Int) {
        self.peak = peak
        self.warmupSteps = warmupSteps
    }

    /// The rate for optimizer step `step` (0-based).
    public func rate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step) / Double(max(1, warmupSteps)) }
        let timescale = Double(warmupSteps > 0 ? warmupSteps : 10_000)
        return peak / ((Double(step) + timescale - Double(warmupSteps)) / timescale).squareRoot()
    }
}
