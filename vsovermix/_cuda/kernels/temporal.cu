// Per-pixel order statistic over N planes (temporal min / max / median).
// `planes` is a device table of N pointers to contiguous planes of `size` samples each.
// Exact: values are only compared and moved, never combined, so NumPy and CuPy agree bit for bit.
#include "common.cuh"

template <typename T, int N, int RANK>
__global__ void temporal_select(const unsigned long long* __restrict__ planes, T* __restrict__ out,
                                const long long size) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= size) return;
    float v[N];
#pragma unroll
    for (int k = 0; k < N; ++k) v[k] = vso::to_float(reinterpret_cast<const T*>(planes[k])[i]);
    // Partial selection sort, from whichever end is nearer to RANK; N and RANK are compile-time
    // constants, so the loops unroll and v[] stays in registers.
    if (RANK <= (N - 1) / 2) {
#pragma unroll
        for (int r = 0; r <= RANK; ++r) {
#pragma unroll
            for (int k = r + 1; k < N; ++k) {
                const float a = v[r], b = v[k];
                v[r] = fminf(a, b);
                v[k] = fmaxf(a, b);
            }
        }
    } else {
#pragma unroll
        for (int r = N - 1; r >= RANK; --r) {
#pragma unroll
            for (int k = r - 1; k >= 0; --k) {
                const float a = v[k], b = v[r];
                v[k] = fminf(a, b);
                v[r] = fmaxf(a, b);
            }
        }
    }
    out[i] = vso::from_float<T>(v[RANK]);
}
