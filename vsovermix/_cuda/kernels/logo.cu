// Per-pixel work of the logo filters (ops/logo.py holds the NumPy references).
//
// logo_edge_sums     refine_by_edges' robust sums: one thread per neighbour pair (p, q), looping over the
//                    frames; the pair's background step is r = (k_p J_p - c_p) - (k_q J_q - c_q), Tukey
//                    weight w = (1 - u^2)^2 for |u| < 1 with u = r / cutoff; six sums in double:
//                    w J_p^2, w J_q^2, w J_p J_q, w J_p, w J_q, w (sums[6][pairs]).
// logo_deblend       deblend_trusted: the background (J - s b) / g_s with g_s = 1 - s (1 - g), NaN where
//                    g_s < min_gain (the overlay lets too little of the picture through).
// logo_combine       combine_estimates: inverse-variance mean of two estimates; where they disagree by
//                    more than `agreement` combined standard deviations the first stands; NaN where
//                    neither is finite.

extern "C" __global__ void logo_edge_sums(const float* __restrict__ frames, const int* __restrict__ first,
                                          const int* __restrict__ second, const double* __restrict__ inverse_gain,
                                          const double* __restrict__ offset_ratio, double* __restrict__ sums,
                                          const long long pixels, const int count, const long long pairs,
                                          const double cutoff) {
    const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= pairs) {
        return;
    }
    const int p = first[e];
    const int q = second[e];
    const double kp = inverse_gain[p], cp = offset_ratio[p];
    const double kq = inverse_gain[q], cq = offset_ratio[q];
    double s_pp = 0.0, s_qq = 0.0, s_pq = 0.0, s_p = 0.0, s_q = 0.0, s_1 = 0.0;
    for (int t = 0; t < count; ++t) {
        const double jp = frames[t * pixels + p];
        const double jq = frames[t * pixels + q];
        const double u = (kp * jp - cp - kq * jq + cq) / cutoff;
        if (fabs(u) < 1.0) {
            const double a = 1.0 - u * u;
            const double w = a * a;
            s_pp += w * jp * jp;
            s_qq += w * jq * jq;
            s_pq += w * jp * jq;
            s_p += w * jp;
            s_q += w * jq;
            s_1 += w;
        }
    }
    sums[0 * pairs + e] = s_pp;
    sums[1 * pairs + e] = s_qq;
    sums[2 * pairs + e] = s_pq;
    sums[3 * pairs + e] = s_p;
    sums[4 * pairs + e] = s_q;
    sums[5 * pairs + e] = s_1;
}

extern "C" __global__ void logo_deblend(const float* __restrict__ observed, const float* __restrict__ gain,
                                        const float* __restrict__ offset, float* __restrict__ out,
                                        const long long size, const float strength, const float min_gain) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= size) {
        return;
    }
    const float scaled_gain = 1.0f - strength * (1.0f - gain[i]);
    out[i] = scaled_gain >= min_gain ? (observed[i] - strength * offset[i]) / scaled_gain : __int_as_float(0x7fc00000);
}

extern "C" __global__ void logo_combine(const float* __restrict__ own, const float* __restrict__ own_variance,
                                        const float* __restrict__ other, const float* __restrict__ other_variance,
                                        float* __restrict__ out, const long long size, const float agreement) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= size) {
        return;
    }
    const bool own_ok = isfinite(own[i]) && isfinite(own_variance[i]);
    const bool other_ok = isfinite(other[i]) && isfinite(other_variance[i]);
    if (!own_ok && !other_ok) {
        out[i] = __int_as_float(0x7fc00000);
        return;
    }
    const float w_own = own_ok ? 1.0f / fmaxf(own_variance[i], 1e-12f) : 0.0f;
    const float w_other = other_ok ? 1.0f / fmaxf(other_variance[i], 1e-12f) : 0.0f;
    const float own_v = own_ok ? own[i] : 0.0f;
    const float other_v = other_ok ? other[i] : 0.0f;
    const float mixed = (w_own * own_v + w_other * other_v) / fmaxf(w_own + w_other, 1e-30f);
    const float tolerance = agreement * sqrtf((own_ok ? own_variance[i] : 0.0f) + (other_ok ? other_variance[i] : 0.0f));
    out[i] = (own_ok && other_ok && fabsf(own_v - other_v) > tolerance) ? own_v : mixed;
}
