// One dual step of the JPEG constraint for every 8x8 block of a coded plane (ops/jpeg.py, dejpeg_estimate):
//
//     v    = dual + sigma * DCT(coded)
//     dual = mask * (v - sigma * clamp(v / sigma, low, high))
//     back = IDCT(dual)
//
// with DCT the orthonormal 8x8 DCT-II of each block (JPEG's FDCT). One thread block of 64 threads per
// 8x8 block: each thread owns one sample, the two separable passes go through shared memory, so the
// plane is read once and the dual and back-projection are written once (the NumPy path makes five
// passes over full planes). All planes are float32, row-major, of one padded size (multiples of 8).

namespace vso {

// DCT-II basis, dct_basis[k][n] = c(k) cos((2n + 1) k pi / 16), c(0) = sqrt(1/8), else sqrt(2/8).
__constant__ float dct_basis[8][8] = {
    {0.35355339f, 0.35355339f, 0.35355339f, 0.35355339f, 0.35355339f, 0.35355339f, 0.35355339f, 0.35355339f},
    {0.49039264f, 0.41573481f, 0.27778512f, 0.09754516f, -0.09754516f, -0.27778512f, -0.41573481f, -0.49039264f},
    {0.46193977f, 0.19134172f, -0.19134172f, -0.46193977f, -0.46193977f, -0.19134172f, 0.19134172f, 0.46193977f},
    {0.41573481f, -0.09754516f, -0.49039264f, -0.27778512f, 0.27778512f, 0.49039264f, 0.09754516f, -0.41573481f},
    {0.35355339f, -0.35355339f, -0.35355339f, 0.35355339f, 0.35355339f, -0.35355339f, -0.35355339f, 0.35355339f},
    {0.27778512f, -0.49039264f, 0.09754516f, 0.41573481f, -0.41573481f, -0.09754516f, 0.49039264f, -0.27778512f},
    {0.19134172f, -0.46193977f, 0.46193977f, -0.19134172f, -0.19134172f, 0.46193977f, -0.46193977f, 0.19134172f},
    {0.09754516f, -0.27778512f, 0.41573481f, -0.49039264f, 0.49039264f, -0.41573481f, 0.27778512f, -0.09754516f},
};

}  // namespace vso

extern "C" __global__ void jpeg_dual_step(const float* __restrict__ coded, float* __restrict__ dual,
                                          const float* __restrict__ low, const float* __restrict__ high,
                                          const float* __restrict__ mask, float* __restrict__ back,
                                          const int width, const float sigma) {
    __shared__ float tile[8][8];
    __shared__ float half[8][8];
    const int u = threadIdx.x & 7;   // column inside the block
    const int v = threadIdx.x >> 3;  // row inside the block
    const long long index = (static_cast<long long>(blockIdx.y) * 8 + v) * width + blockIdx.x * 8 + u;

    // Forward DCT of the coded block: rows, then columns.
    tile[v][u] = coded[index];
    __syncthreads();
    float sum = 0.0f;
    for (int n = 0; n < 8; ++n) sum += vso::dct_basis[u][n] * tile[v][n];
    half[v][u] = sum;  // row v, horizontal frequency u
    __syncthreads();
    sum = 0.0f;
    for (int n = 0; n < 8; ++n) sum += vso::dct_basis[v][n] * half[n][u];
    // Dual update: the proximal step of the box's indicator's conjugate.
    const float moved = dual[index] + sigma * sum;
    const float projected = fminf(fmaxf(moved / sigma, low[index]), high[index]);
    const float updated = mask[index] * (moved - sigma * projected);
    dual[index] = updated;
    __syncthreads();  // every thread has read half[] before it is reused
    tile[v][u] = updated;  // coefficient at vertical frequency v, horizontal frequency u
    __syncthreads();
    // Inverse DCT (the transpose): columns, then rows.
    sum = 0.0f;
    for (int k = 0; k < 8; ++k) sum += vso::dct_basis[k][v] * tile[k][u];
    half[v][u] = sum;
    __syncthreads();
    sum = 0.0f;
    for (int k = 0; k < 8; ++k) sum += vso::dct_basis[k][u] * half[v][k];
    back[index] = sum;
}
