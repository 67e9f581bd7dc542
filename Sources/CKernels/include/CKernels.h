#ifndef ADAPTERMERGE_CKERNELS_H
#define ADAPTERMERGE_CKERNELS_H

// Element-wise kernels of the forward pass, in C so that each can be
// compiled for several instruction sets at once (target_clones: AVX-512,
// AVX2, baseline x86-64) and picked at load time for the CPU it runs on.
// Swift has no per-function target attributes, and a package cannot raise
// the baseline without unsafeFlags.
//
// Every reduction uses 16 explicit partial sums and no operation is fused,
// so each clone computes bit-identical results.

#include <stddef.h>

/// e^x, Cephes' expf polynomial, x clamped to [-87, 88] (about 2 ulp).
float am_exp(float x);

/// RMSNorm of rows [row_begin, row_end) of x (rows of `width`):
/// out = weight * (x / sqrt(mean(x^2) + eps)), all in float.
void am_rms_norm(const float *x, const float *weight, float *out, ptrdiff_t row_begin, ptrdiff_t row_end,
                 ptrdiff_t width, float eps);

/// SwiGLU in place on rows of a gate||up buffer (2 * intermediate wide):
/// gate[i] = silu(gate[i]) * up[i].
void am_silu_multiply(float *gate_up, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t intermediate);

/// Softmax of row[lo...hi] in place; every other entry of the `count`
/// becomes 0 (all of them when lo > hi).
void am_masked_softmax(float *row, ptrdiff_t count, ptrdiff_t lo, ptrdiff_t hi);

/// Training: act = silu(gate) * up for rows of a gate||up buffer, into a
/// separate `act` (rows of `intermediate`), keeping gate and up for the backward pass.
void am_swiglu_forward(const float *gate_up, float *act, ptrdiff_t rows, ptrdiff_t intermediate);

/// Training: from d_act, the gradients of gate and up into d_gate_up
/// (rows of 2 * intermediate): d_up = d_act * silu(g),
/// d_gate = d_act * u * s * (1 + g * (1 - s)) with s = sigmoid(g).
void am_swiglu_backward(const float *gate_up, const float *d_act, float *d_gate_up, ptrdiff_t rows,
                        ptrdiff_t intermediate);

/// Training: an inverted-dropout mask. keep[i] = 0 with probability
/// threshold / 2^32, else `scale`, from the counter-based SplitMix64 stream
/// `seed` (draw i is mix(seed + (i + 1) * golden gamma), its low 32 bits):
/// the same seed gives the same mask in every clone and on every machine.
void am_dropout_mask(float *keep, ptrdiff_t count, unsigned long long seed, unsigned int threshold, float scale);

/// Sum, sum of squares and maximum of n floats (maximum needs n >= 1).
float am_sum(const float *x, ptrdiff_t n);
float am_sum_of_squares(const float *x, ptrdiff_t n);
float am_maximum(const float *x, ptrdiff_t n);

#endif
