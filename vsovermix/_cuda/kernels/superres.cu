// One descent iteration of ops.superres.super_resolve, in four launches (ops/superres.py holds the NumPy
// reference and the model). x is the high-resolution estimate (height x width); "sums" are its block sums
// (height + scale - 1) x (width + scale - 1); frames are stacked (count x rows x cols), each with its own
// taps and fitted rectangle.
//
// Per frame k, `taps` holds 8 floats (4 column weights, then 4 row weights, already divided by scale) and
// `geometry` 8 ints: column start, row start, column tap count, row tap count, then the fitted rectangle
// top, bottom, left, right. Frame pixel (i, j) reads sums[row_start + scale i + ty][col_start + scale j + tx].
//
// sr_block_sums  sums[p][q] = sum over a, b < scale of x[p - a][q - b] (zero outside x).
// sr_residual    predicted - observed, zero outside the rectangle, then Charbonnier-weighted when
//                eps > 0: r * eps / sqrt(r^2 + eps^2).
// sr_spread      the transpose of the gather, as a gather: one thread per block sum adds up every frame's
//                residuals whose taps read it, frames and taps in a fixed order (no atomics: the same
//                result run after run).
// sr_update      the gradient at x: the spread summed over the blocks that contain the pixel, plus lam
//                times Farsiu's bilateral-TV subgradient; then heavy-ball momentum:
//                v = momentum v - step grad, x_out = x + v. With a PSF the wrapper sums the blocks and
//                blurs back itself and passes scale 1 (the spread is then the data gradient).

extern "C" __global__ void sr_block_sums(const float* __restrict__ x, float* __restrict__ sums, const int height,
                                         const int width, const int scale) {
    const int sums_w = width + scale - 1;
    const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= static_cast<long long>(height + scale - 1) * sums_w) {
        return;
    }
    const int p = static_cast<int>(e / sums_w), q = static_cast<int>(e % sums_w);
    float total = 0.0f;
    for (int a = 0; a < scale; ++a) {
        const int r = p - a;
        if (r < 0 || r >= height) {
            continue;
        }
        for (int b = 0; b < scale; ++b) {
            const int c = q - b;
            if (c >= 0 && c < width) {
                total += x[static_cast<long long>(r) * width + c];
            }
        }
    }
    sums[e] = total;
}

extern "C" __global__ void sr_residual(const float* __restrict__ sums, const float* __restrict__ frames,
                                       float* __restrict__ residual, const float* __restrict__ taps,
                                       const int* __restrict__ geometry, const int count, const int rows,
                                       const int cols, const int sums_h, const int sums_w, const int scale,
                                       const float eps) {
    const long long plane = static_cast<long long>(rows) * cols;
    const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= plane * count) {
        return;
    }
    const int k = static_cast<int>(e / plane);
    const int i = static_cast<int>((e % plane) / cols), j = static_cast<int>(e % cols);
    const float* w = taps + 8 * k;
    const int* g = geometry + 8 * k;
    if (i < g[4] || i >= g[5] || j < g[6] || j >= g[7]) {
        residual[e] = 0.0f;
        return;
    }
    float predicted = 0.0f;
    for (int ty = 0; ty < g[3]; ++ty) {
        const int p = g[1] + scale * i + ty;
        if (p < 0 || p >= sums_h) {
            continue;
        }
        float row = 0.0f;
        for (int tx = 0; tx < g[2]; ++tx) {
            const int q = g[0] + scale * j + tx;
            if (q >= 0 && q < sums_w) {
                row += w[tx] * sums[static_cast<long long>(p) * sums_w + q];
            }
        }
        predicted += w[4 + ty] * row;
    }
    float r = predicted - frames[e];
    if (eps > 0.0f) {
        r *= eps / sqrtf(r * r + eps * eps);
    }
    residual[e] = r;
}

extern "C" __global__ void sr_spread(const float* __restrict__ residual, float* __restrict__ spread,
                                     const float* __restrict__ taps, const int* __restrict__ geometry,
                                     const int count, const int rows, const int cols, const int sums_h,
                                     const int sums_w, const int scale) {
    const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= static_cast<long long>(sums_h) * sums_w) {
        return;
    }
    const int p = static_cast<int>(e / sums_w), q = static_cast<int>(e % sums_w);
    const long long plane = static_cast<long long>(rows) * cols;
    float total = 0.0f;
    for (int k = 0; k < count; ++k) {
        const float* w = taps + 8 * k;
        const int* g = geometry + 8 * k;
        for (int ty = 0; ty < g[3]; ++ty) {
            const int dy = p - g[1] - ty;  // = scale * i for the frame row i whose tap ty reads row p
            if (dy < 0 || dy % scale != 0 || dy / scale >= rows) {
                continue;
            }
            const float* line = residual + k * plane + static_cast<long long>(dy / scale) * cols;
            float row = 0.0f;
            for (int tx = 0; tx < g[2]; ++tx) {
                const int dx = q - g[0] - tx;
                if (dx >= 0 && dx % scale == 0 && dx / scale < cols) {
                    row += w[tx] * line[dx / scale];
                }
            }
            total += w[4 + ty] * row;
        }
    }
    spread[e] = total;
}

extern "C" __global__ void sr_update(const float* __restrict__ x, const float* __restrict__ spread,
                                     float* __restrict__ velocity, float* __restrict__ x_out, const int height,
                                     const int width, const int scale, const float lam, const double alpha,
                                     const int radius, const float step, const float momentum) {
    const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= static_cast<long long>(height) * width) {
        return;
    }
    const int r = static_cast<int>(e / width), c = static_cast<int>(e % width);
    const int sums_w = width + scale - 1;
    float data = 0.0f;
    for (int a = 0; a < scale; ++a) {
        for (int b = 0; b < scale; ++b) {
            data += spread[static_cast<long long>(r + a) * sums_w + c + b];
        }
    }
    float btv = 0.0f;
    if (lam != 0.0f) {
        const float centre = x[e];
        for (int dx = -radius; dx <= radius; ++dx) {
            for (int dy = 0; dy <= radius; ++dy) {
                if (dy == 0 && dx <= 0) {
                    continue;  // each pair once, as in ops.superres._btv_slab
                }
                const float weight = static_cast<float>(pow(alpha, static_cast<double>(abs(dx) + abs(dy))));
                const int r1 = r + dy, c1 = c + dx;  // the pair's far end: + sign(x - x_far)
                if (r1 < height && c1 >= 0 && c1 < width) {
                    const float d = centre - x[static_cast<long long>(r1) * width + c1];
                    btv += weight * static_cast<float>((d > 0.0f) - (d < 0.0f));
                }
                const int r0 = r - dy, c0 = c - dx;  // the pair's near end: - sign(x_near - x)
                if (r0 >= 0 && c0 >= 0 && c0 < width) {
                    const float d = x[static_cast<long long>(r0) * width + c0] - centre;
                    btv -= weight * static_cast<float>((d > 0.0f) - (d < 0.0f));
                }
            }
        }
    }
    const float grad = (data + lam * btv) * step;
    const float v = momentum * velocity[e] - grad;
    velocity[e] = v;
    x_out[e] = x[e] + v;
}
