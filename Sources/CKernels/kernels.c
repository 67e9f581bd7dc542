#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Identical results in every clone: no FMA contraction, fixed association.
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define AM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AM_CLONES
#endif

#define LANES 16

static inline float exp_inline(float value) {
    float x = value < -87.0f ? -87.0f : (value > 88.0f ? 88.0f : value);
    // Adding 1.5 * 2^23 rounds x * log2(e) to an integer n, which then sits
    // in the low mantissa bits of t: 2^n is built without a float-to-int trap.
    float t = x * 1.44269504f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float er = p * r * r + r + 1.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint32_t sb = (tb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return er * scale;
}

float am_exp(float x) { return exp_inline(x); }

static inline float reduce_lanes(const float acc[LANES]) {
    float s = 0.0f;
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

AM_CLONES float am_sum(const float *x, ptrdiff_t n) {
    float acc[LANES] = {0};
    ptrdiff_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j];
    float s = reduce_lanes(acc);
    for (; i < n; i++) s += x[i];
    return s;
}

AM_CLONES float am_sum_of_squares(const float *x, ptrdiff_t n) {
    float acc[LANES] = {0};
    ptrdiff_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j] * x[i + j];
    float s = reduce_lanes(acc);
    for (; i < n; i++) s += x[i] * x[i];
    return s;
}

static inline float maximum_inline(const float *x, ptrdiff_t n) {
    float peak = x[0];
    ptrdiff_t i = 0;
    if (n >= LANES) {
        float acc[LANES];
        for (int j = 0; j < LANES; j++) acc[j] = x[j];
        for (i = LANES; i + LANES <= n; i += LANES)
            for (int j = 0; j < LANES; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
        for (int j = 0; j < LANES; j++) peak = acc[j] > peak ? acc[j] : peak;
    }
    for (; i < n; i++) peak = x[i] > peak ? x[i] : peak;
    return peak;
}

AM_CLONES float am_maximum(const float *x, ptrdiff_t n) { return maximum_inline(x, n); }

AM_CLONES void am_rms_norm(const float *x, const float *weight, float *out, ptrdiff_t row_begin, ptrdiff_t row_end,
                           ptrdiff_t width, float eps) {
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        const float *row = x + r * width;
        float *dst = out + r * width;
        float acc[LANES] = {0};
        ptrdiff_t i = 0;
        for (; i + LANES <= width; i += LANES)
            for (int j = 0; j < LANES; j++) acc[j] += row[i + j] * row[i + j];
        float sum = reduce_lanes(acc);
        for (; i < width; i++) sum += row[i] * row[i];
        float inv = 1.0f / sqrtf(sum / (float)width + eps);
        for (i = 0; i < width; i++) dst[i] = weight[i] * (row[i] * inv);
    }
}

AM_CLONES void am_silu_multiply(float *gate_up, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t intermediate) {
    for (ptrdiff_t r = row_begin; r < row_end; r++) {
        float *g = gate_up + r * 2 * intermediate;
        const float *u = g + intermediate;
        for (ptrdiff_t i = 0; i < intermediate; i++) {
            float z = g[i];
            g[i] = z / (1.0f + exp_inline(-z)) * u[i];
        }
    }
}

AM_CLONES void am_masked_softmax(float *row, ptrdiff_t count, ptrdiff_t lo, ptrdiff_t hi) {
    if (lo > hi) {
        for (ptrdiff_t j = 0; j < count; j++) row[j] = 0.0f;
        return;
    }
    float *seen = row + lo;
    ptrdiff_t n = hi - lo + 1;
    float peak = maximum_inline(seen, n);
    float acc[LANES] = {0};
    ptrdiff_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) {
            float e = exp_inline(seen[j + k] - peak);
            seen[j + k] = e;
            acc[k] += e;
        }
    float sum = reduce_lanes(acc);
    for (; j < n; j++) {
        float e = exp_inline(seen[j] - peak);
        seen[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (j = 0; j < n; j++) seen[j] *= inv;
    for (j = 0; j < lo; j++) row[j] = 0.0f;
    for (j = hi + 1; j < count; j++) row[j] = 0.0f;
}

AM_CLONES void am_swiglu_forward(const float *gate_up, float *act, ptrdiff_t rows, ptrdiff_t intermediate) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *g = gate_up + r * 2 * intermediate, *u = g + intermediate;
        float *a = act + r * intermediate;
        for (ptrdiff_t i = 0; i < intermediate; i++) a[i] = g[i] / (1.0f + exp_inline(-g[i])) * u[i];
    }
}

AM_CLONES void am_swiglu_backward(const float *gate_up, const float *d_act, float *d_gate_up, ptrdiff_t rows,
                                  ptrdiff_t intermediate) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *g = gate_up + r * 2 * intermediate, *u = g + intermediate, *da = d_act + r * intermediate;
        float *dg = d_gate_up + r * 2 * intermediate, *du = dg + intermediate;
        for (ptrdiff_t i = 0; i < intermediate; i++) {
            float s = 1.0f / (1.0f + exp_inline(-g[i]));
            du[i] = da[i] * (g[i] * s);
            dg[i] = da[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
        }
    }
}

AM_CLONES void am_dropout_mask(float *keep, ptrdiff_t count, unsigned long long seed, unsigned int threshold, float scale) {
    for (ptrdiff_t i = 0; i < count; i++) {
        uint64_t z = (uint64_t)seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        keep[i] = (uint32_t)z < threshold ? 0.0f : scale;
    }
}
