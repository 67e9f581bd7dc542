import Foundation
import Tensors
import Transformer

extension TrainingGraph {
    /// Backpropagates `dx` (the gradient of the loss with respect to the last
    /// block's output) through every recorded block, adding the LoRA factors'
    /// gradients to `gradients`.
    /// - Returns: the gradient with respect to the first block's input (the embeddings).
    @discardableResult
    func backward(
        _ batch: Batch, dx: Storage<Scalar>, tapes: [BlockTape], lora: LoRAParameters<Scalar>,
        gradients: LoRAParameters<Scalar>, random: inout TrainingRandom
    ) -> Storage<Scalar> {
        var d = dx
        for l in stride(from: tapes.count - 1, through: 0, by: -1) {
            let tape = tapes[l]
            if options.recompute {
                var replay = tape.random
                _ = runBlock(l, batch, tape: tape, lora: lora, random: &replay)
            }
            d = blockBackward(l, batch, tape: tape, dOut: d, lora: lora, gradients: gradients)
            tape.release()
        }
        return d
    }

    /// One block backward: the gradient with respect to its input.
    func blockBackward(
        _ l: Int, _ batch: Batch, tape: BlockTape, dOut: Storage<Scalar>, lora: LoRAParameters<Scalar>,
        gradients: LoRAParameters<Scalar>
    ) -> Storage<Scalar> {
        let c = config
        let w = weights.layers[l]
        let rows = batch.rows
        let h = c.hiddenSize
        let d = c.headDimension
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        let inter = c.intermediateSize

        // Down projection: output = middle + activation · Wᵀ (+ LoRA).
        let dMiddle = dOut.copy()
        let dActivation = Storage<Scalar>(rows * inter)
        projectBackward(
            .down, lora: lora, gradients: gradients, layer: l, input: tape.activation, dOutput: dOut,
            rows: rows, dInput: dActivation, tape: tape)
        // SwiGLU: a = silu(g) · u.
        let dGateUp = Storage<Scalar>(uninitialized: rows * 2 * inter)
        Scalar.swigluBackward(tape.gateUp.p, dAct: dActivation.p, into: dGateUp.p, rows: rows, intermediate: inter)
        let dNormed2 = Storage<Scalar>(rows * h)
        projectBackward(
            .gateUp, lora: lora, gradients: gradients, layer: l, input: tape.normed2, dOutput: dGateUp,
            rows: rows, dInput: dNormed2, tape: tape)
        rmsNormBackward(
            tape.middle, w.postAttentionNorm, inverse: tape.inverse2, dOut: dNormed2, into: dMiddle, rows: rows,
            dWeight: baseGradients?.layers[l].postAttentionNorm)

        // o projection: middle = input + attended · Wᵀ (+ LoRA).
        let dInput = dMiddle.copy()
        let dAttended = Storage<Scalar>(rows * qWidth)
        projectBackward(
            .o, lora: lora, gradients: gradients, layer: l, input: tape.attended, dOutput: dMiddle,
            rows: rows, dInput: dAttended, tape: tape)
        let dQKV = Storage<Scalar>(rows * qkvWidth)
        attentionBackward(batch, qkv: tape.qkv, probabilities: tape.probabilities, dOut: dAttended, into: dQKV)
        rope(dQKV, rows: rows, length: batch.length, inverse: true)
        let dNormed1 = Storage<Scalar>(rows * h)
        projectBackward(
            .qkv, lora: lora, gradients: gradients, layer: l, input: tape.normed1, dOutput: dQKV,
            rows: rows, dInput: dNormed1, tape: tape)
        rmsNormBackward(
            tape.input, w.inputNorm, inverse: tape.inverse1, dOut: dNormed1, into: dInput, rows: rows,
            dWeight: baseGradients?.layers[l].inputNorm)
        return dInput
    }

    /// Given `dOutput` of a projection group, adds `dInput += dOutput · W` plus
    /// the LoRA path's input gradient, and the LoRA factors' gradients:
    /// `dB += s · dYᵀ · t`, `dT = s · dY · B`, `dA += dTᵀ · x̃`, `dx̃ = dT · A`.
    func projectBackward(
        _ kind: ProjectionGroup, lora: LoRAParameters<Scalar>, gradients: LoRAParameters<Scalar>,
        layer: Int, input: Storage<Scalar>, dOutput: Storage<Scalar>, rows: Int,
        dInput: Storage<Scalar>, tape: BlockTape
    ) {
        let group = weights.layers[layer][kind]
        let width = group.rows
        let inWidth = group.columns
        group.withWeight { w in
            Scalar.gemm(
                transposeA: false, transposeB: false, m: rows, n: inWidth, k: width, alpha: 1, a: dOutput.p,
                lda: width, b: w, ldb: inWidth, beta: 1, c: dInput.p, ldc: inWidth)
        }
        if let base = baseGradients {
            // dW += dYᵀ · x (the undropped input: dropout belongs to the LoRA path only).
            Scalar.gemm(
                transposeA: true, transposeB: false, m: width, n: inWidth, k: rows, alpha: 1, a: dOutput.p, lda: width,
                b: input.p, ldb: inWidth, beta: 1, c: base.layers[layer].groups[kind.rawValue].p, ldc: inWidth)
        }
        for index in lora.modules(layer: layer, group: kind) {
            let m = lora.modules[index]
            let g = gradients.modules[index]
            guard let t = tape.loraT[index] else { continue }
            let dY = dOutput.p + m.column
            Scalar.gemm(
                transposeA: true, transposeB: false, m: m.outFeatures, n: m.rank, k: rows, alpha: m.scaling,
                a: dY, lda: width, b: t.p, ldb: m.rank, beta: 1, c: g.b.p, ldc: m.rank)
            let dT = Storage<Scalar>(uninitialized: rows * m.rank)
            Scalar.gemm(
                transposeA: false, transposeB: false, m: rows, n: m.rank, k: m.outFeatures, alpha: m.scaling,
                a: dY, lda: width, b: m.b.p, ldb: m.rank, beta: 0, c: dT.p, ldc: m.rank)
            if let keep = tape.loraKeep[index] {
                let dropped = Storage<Scalar>(uninitialized: rows * inWidth)
                for i in 0..<(rows * inWidth) { dropped.p[i] = input.p[i] * keep.p[i] }
                Scalar.gemm(
                    transposeA: true, transposeB: false, m: m.rank, n: inWidth, k: rows, alpha: 1,
                    a: dT.p, lda: m.rank, b: dropped.p, ldb: inWidth, beta: 1, c: g.a.p, ldc: inWidth)
                let dDropped = Storage<Scalar>(uninitialized: rows * inWidth)
                Scalar.gemm(
                    transposeA: false, transposeB: false, m: rows, n: inWidth, k: m.rank, alpha: 1,
                    a: dT.p, lda: m.rank, b: m.a.p, ldb: inWidth, beta: 0, c: dDropped.p, ldc: inWidth)
                for i in 0..<(rows * inWidth) { dInput.p[i] += dDropped.p[i] * keep.p[i] }
            } else {
                Scalar.gemm(
                    transposeA: true, transposeB: false, m: m.rank, n: inWidth, k: rows, alpha: 1,
                    a: dT.p, lda: m.rank, b: input.p, ldb: inWidth, beta: 1, c: g.a.p, ldc: inWidth)
                Scalar.gemm(
                    transposeA: false, transposeB: false, m: rows, n: inWidth, k: m.rank, alpha: 1,
                    a: dT.p, lda: m.rank, b: m.a.p, ldb: inWidth, beta: 1, c: dInput.p, ldc: inWidth)
            }
        }
    }

    /// Attention backward per sequence and head, from the kept probabilities P:
    /// `dV += Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ∘ (dP − rowsum(dP ∘ P))`,
    /// `dQ = scale·dS·K`, `dK += scale·dSᵀ·Q` (keys and values summed over a
    /// query group's heads).
    func attentionBackward(
        _ batch: Batch, qkv: Storage<Scalar>, probabilities: Storage<Scalar>, dOut: Storage<Scalar>,
        into dQKV: Storage<Scalar>
    ) {
        let c = config
        let d = c.headDimension
        let t = batch.length
        let qWidth = c.headCount * d
        let kvWidth = c.keyValueHeadCount * d
        let qkvWidth = qWidth + 2 * kvWidth
        let group = c.headCount / c.keyValueHeadCount
        let scale = 1 / Scalar(d).squareRoot()
        let dP = Storage<Scalar>(t * t)
        for s in 0..<batch.count {
            let base = qkv.p + s * t * qkvWidth
            let dBase = dQKV.p + s * t * qkvWidth
            let dO = dOut.p + s * t * qWidth
            for head in 0..<c.headCount {
                let kvHead = head / group
                let p = probabilities.p + (s * c.headCount + head) * t * t
                let q = base + head * d
                let k = base + qWidth + kvHead * d
                let v = base + qWidth + kvWidth + kvHead * d
                let dq = dBase + head * d
                let dk = dBase + qWidth + kvHead * d
                let dv = dBase + qWidth + kvWidth + kvHead * d
                Scalar.gemm(
                    transposeA: true, transposeB: false, m: t, n: d, k: t, alpha: 1, a: p, lda: t,
                    b: dO + head * d, ldb: qWidth, beta: 1, c: dv, ldc: qkvWidth)
                Scalar.gemm(
                    transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: 1, a: dO + head * d, lda: qWidth,
                    b: v, ldb: qkvWidth, beta: 0, c: dP.p, ldc: t)
                for i in 0..<t {
                    let pr = p + i * t
                    let dr = dP.p + i * t
                    var dot: Scalar = 0
                    for j in 0..<t { dot += pr[j] * dr[j] }
                    for j in 0..<t { dr[j] = pr[j] * (dr[j] - dot) }
                }
                Scalar.gemm(
                    transposeA: false, transposeB: false, m: t, n: d, k: t, alpha: scale, a: dP.p, lda: t,
                    b: k, ldb: qkvWidth, beta: 1, c: dq, ldc: qkvWidth)
                Scalar.gemm(
                    transposeA: true, transposeB: false, m: t, n: d, k: t, alpha: scale, a: dP.p, lda: t,
                    b: q, ldb: qkvWidth, beta: 1, c: dk, ldc: qkvWidth)
            }
        }
    }
}
