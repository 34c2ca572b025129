// Skinny-product kernels: one warp per output column n (one row of W, or the gate and up rows of the
// fused SwiGLU product), 16-byte loads, four loads in flight per lane, x read through the read-only
// cache (it is small and shared by every warp). Launched with PDL: each warp's first weight loads are
// issued before pdl_wait, while the kernels before it finish (with the early trigger of pdl.cuh,
// possibly several kernels before it).
#include <stdexcept>

#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/gemv.cuh"
#include "gpu/kernels/pdl.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kWarps = 8;
constexpr int kUnroll = 4;  // 16-byte weight loads in flight per lane (over the warp's rows)

// 16-byte loads per lane issued before the PDL wait. 8 measured the same as 4 on an H100 (batch-1
// decode step 5.94 vs 5.94 ms), 16 slower (6.39 ms: 128 registers, half the resident blocks); a longer
// stretch copied to shared memory by cp.async (16-64 KB a block) slower still (docs/PERFORMANCE.md).
constexpr int kPreloads = 4;

__device__ __forceinline__ void store_out(bf16* y, float v) { *y = __float2bfloat16(v); }
__device__ __forceinline__ void store_out(float* y, float v) { *y = v; }

// y[m][n] = sum + bias[n], rounded once (a GEMM epilogue, and transformers' addmm).
template <typename Out>
struct PlainEpilogue {
  static constexpr int kRows = 1;
  const bf16* bias;  // may be null
  Out* y;
  int out;
  __device__ void operator()(int m, int n, const float (&sum)[1]) const {
    float v = sum[0];
    if (bias != nullptr) v += __bfloat162float(bias[n]);
    store_out(y + size_t(m) * out + n, v);
  }
};

// sum[0]: gate, sum[1]: up; bf16(bf16(silu(bf16(g))) * bf16(u)), the rounding of the unfused path.
struct SwigluEpilogue {
  static constexpr int kRows = 2;
  bf16* y;
  int inter;
  __device__ void operator()(int m, int n, const float (&sum)[2]) const {
    const float g = round_bf16(sum[0]), u = round_bf16(sum[1]);
    y[size_t(m) * inter + n] = __float2bfloat16(round_bf16(g / (1.f + __expf(-g))) * u);
  }
};

// Warp n reads rows n + r * row_step (r < Epi::kRows) of w and dots them with the M rows of x; lane
// l takes the 16-byte pieces l, l + 32, ... in increasing order.
template <int M, typename Epi>
__global__ void __launch_bounds__(kWarps * 32)
    gemv_kernel(const bf16* x, const bf16* w, int in, int cols, int row_step, Epi epi) {
  constexpr int R = Epi::kRows;
  constexpr int PRE = kPreloads / R;  // pieces per row requested before the wait
  constexpr int U = kUnroll / R;      // pieces per row per loop step
  const PdlScope pdl(Epi::kRows == 2 ? TimelineTag::kProductSwiglu : TimelineTag::kProduct);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  const int vecs = in / 8;
  const uint4* wr[R];
#pragma unroll
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const uint4*>(w + size_t(n + r * row_step) * in);
  uint4 pre[PRE][R];
  if (n < cols) {
#pragma unroll
    for (int u = 0; u < PRE; ++u)
#pragma unroll
      for (int r = 0; r < R; ++r)
        if (lane + 32 * u < vecs) pre[u][r] = __ldcs(wr[r] + lane + 32 * u);  // streamed once: not kept in L2
  }
  pdl_wait();
  if (n >= cols) return;
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.f;
  auto fma8 = [&](const uint4 (&wv)[R], int k) {
    float wf[R][8];
#pragma unroll
    for (int r = 0; r < R; ++r) unpack8(wv[r], wf[r]);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float xf[8];
      unpack8(__ldg(xr + size_t(m) * vecs + k), xf);
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r][m] += wf[r][i] * xf[i];
    }
  };
  int k = lane;
#pragma unroll
  for (int u = 0; u < PRE; ++u, k += 32)
    if (k < vecs) fma8(pre[u], k);
  for (; k + 32 * (U - 1) < vecs; k += 32 * U) {
    uint4 wv[U][R];
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int r = 0; r < R; ++r) wv[u][r] = __ldcs(wr[r] + k + 32 * u);
#pragma unroll
    for (int u = 0; u < U; ++u) fma8(wv[u], k + 32 * u);
  }
  for (; k < vecs; k += 32) {
    uint4 wv[R];
#pragma unroll
    for (int r = 0; r < R; ++r) wv[r] = __ldcs(wr[r] + k);
    fma8(wv, k);
  }
#pragma unroll
  for (int m = 0; m < M; ++m) {
    float sum[R];
#pragma unroll
    for (int r = 0; r < R; ++r) sum[r] = warp_sum(acc[r][m]);
    if (lane == 0) epi(m, n, sum);
  }
}

template <int M, typename Epi>
void launch_rows(const bf16* x, const bf16* w, int in, int cols, int row_step, Epi epi, cudaStream_t stream) {
  const dim3 grid((cols + kWarps - 1) / kWarps), block(kWarps * 32);
  launch_pdl(gemv_kernel<M, Epi>, grid, block, 0, stream, x, w, in, cols, row_step, epi);
  CUDA_CHECK_LAUNCH();
}

template <typename Epi>
void launch(const bf16* x, const bf16* w, int rows, int in, int cols, Epi epi, cudaStream_t stream) {
  switch (rows) {
    case 1: return launch_rows<1>(x, w, in, cols, 0, epi, stream);
    case 2: return launch_rows<2>(x, w, in, cols, 0, epi, stream);
    case 3: return launch_rows<3>(x, w, in, cols, 0, epi, stream);
    case 4: return launch_rows<4>(x, w, in, cols, 0, epi, stream);
    case 5: return launch_rows<5>(x, w, in, cols, 0, epi, stream);
    case 6: return launch_rows<6>(x, w, in, cols, 0, epi, stream);
    case 7: return launch_rows<7>(x, w, in, cols, 0, epi, stream);
    case 8: return launch_rows<8>(x, w, in, cols, 0, epi, stream);
    default: return;
  }
}

}  // namespace

void gemv_bf16(const bf16* x, const bf16* w, bf16* y, int rows, int in, int out, cudaStream_t stream,
               const bf16* bias) {
  launch(x, w, rows, in, out, PlainEpilogue<bf16>{bias, y, out}, stream);
}

void gemv_f32(const bf16* x, const bf16* w, float* y, int rows, int in, int out, cudaStream_t stream) {
  launch(x, w, rows, in, out, PlainEpilogue<float>{nullptr, y, out}, stream);
}

void gemv_swiglu(const bf16* x, const bf16* gate_up, bf16* y, int rows, int in, int inter, cudaStream_t stream) {
  const SwigluEpilogue epi{y, inter};
  switch (rows) {
    case 1: return launch_rows<1>(x, gate_up, in, inter, inter, epi, stream);
    case 2: return launch_rows<2>(x, gate_up, in, inter, inter, epi, stream);
    default: throw std::invalid_argument("gemv_swiglu: 1 or 2 rows");
  }
}

}  // namespace dynamo::gpu
