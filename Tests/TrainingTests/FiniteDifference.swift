import Training

/// `(f(p + ε) − f(p − ε)) / 2ε` for element `k` of `parameter`, which is restored afterwards.
func centralDifference(_ parameter: Storage<Double>, _ k: Int, epsilon: Double = 1e-6, _ f: () -> Double) -> Double {
    let saved = parameter.p[k]
    parameter.p[k] = saved + epsilon
    let up = f()
    parameter.p[k] = saved - epsilon
    let down = f()
    parameter.p[k] = saved
    return (up - down) / (2 * epsilon)
}
