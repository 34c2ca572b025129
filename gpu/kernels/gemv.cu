// Skinny-product kernels: one warp per output column n (one row of W, or the gate and up rows of the
// fused SwiGLU product), 16-byte loads, four loads in flight per lane, x read through the read-only
// cache (it is small and shared by every warp). A residual add + RMSNorm between two products is
// split over them (SplitNorm in gemv.cuh): the first's epilogue adds its output to the residual, scales
// it by the norm weight and sums its squares per block; the second sums those partials and scales its
// dot products by the row's rsqrt, so no norm kernel stands between them. Launched with PDL: each
// warp's first weight loads are issued before pdl_wait, while the kernels before it finish (with the
// early trigger of pdl.cuh, possibly several kernels before it).
#include <stdexcept>
#include <string>

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

// Resident blocks a multiprocessor the split norm's kernels are compiled for (gemv_norm_kernel).
constexpr int kNormMinBlocks = 6;

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

// Which half of a split norm a product does (SplitNorm).
enum class NormPart { kNone, kBegin, kEnd };

// Warp n reads rows n + r * row_step (r < Epi::kRows) of w and dots them with the M rows of x; lane
// l takes the 16-byte pieces l, l + 32, ... in increasing order. The split norm's halves (M = 1):
// kBegin, every warp has an output (cols % kWarps == 0) and the epilogue is the norm's first half (epi
// unused); kEnd, the sums are scaled by the rsqrt of the partials before epi.
template <int M, typename Epi, NormPart Part>
__device__ __forceinline__ void gemv_body(const bf16* x, const bf16* w, int in, int cols, int row_step, Epi epi,
                                          const SplitNorm& norm) {
  static_assert(Part == NormPart::kNone || M == 1, "the split norm is for one row");
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
  float res_n = 0.f, g_n = 0.f;  // kBegin: this warp's residual entry and norm weight, read early
  if (Part == NormPart::kBegin && lane == 0) {
    g_n = __bfloat162float(norm.weight[n]);
    res_n = __bfloat162float(norm.residual[n]);
  }
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
  if constexpr (Part == NormPart::kBegin) {
    // residual = bf16(residual + bf16(y)) as add_rms_norm, scaled = bf16(residual * weight), and the
    // block's sum of residual^2 (its 8 warps in order).
    __shared__ float block_sq[kWarps];
    const float y = round_bf16(warp_sum(acc[0][0]));
    if (lane == 0) {
      const float r = round_bf16(res_n + y);
      norm.residual[n] = __float2bfloat16(r);
      norm.scaled[n] = __float2bfloat16(r * g_n);
      block_sq[warp] = r * r;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float sq = 0.f;
#pragma unroll
      for (int i = 0; i < kWarps; ++i) sq += block_sq[i];
      norm.partials[blockIdx.x] = sq;
    }
    return;
  }
  float inv = 1.f;  // kEnd: rsqrt(mean of the squares + eps), from the begin's in / kWarps partials
  if constexpr (Part == NormPart::kEnd) {
    // One float4 of partials in flight per lane (in % 32 == 0): more would cost registers that the
    // loop above needs.
    float sq = 0.f;
#pragma unroll 1
    for (int i = lane; i < in / (4 * kWarps); i += 32) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(norm.partials) + i);
      sq += (v.x + v.y) + (v.z + v.w);
    }
    inv = rsqrtf(warp_sum(sq) / float(in) + norm.eps);
  }
#pragma unroll
  for (int m = 0; m < M; ++m) {
    float sum[R];
#pragma unroll
    for (int r = 0; r < R; ++r) sum[r] = warp_sum(acc[r][m]) * inv;
    if (lane == 0) epi(m, n, sum);
  }
}

template <int M, typename Epi>
__global__ void __launch_bounds__(kWarps * 32)
    gemv_kernel(const bf16* x, const bf16* w, int in, int cols, int row_step, Epi epi) {
  gemv_body<M, Epi, NormPart::kNone>(x, w, in, cols, row_step, epi, SplitNorm{});
}

// The split norm's halves (1 row) need a few more registers than the plain product: 48-56 unbounded,
// which would cost QKV's 768 blocks a second wave on an H100. Held to the plain product's allocation,
// 40 (6 blocks a multiprocessor; the plain 1-row end spills 8 bytes). Two rows would spill 16-88
// bytes (loads 32-116) at 40: the split norm is for one.
template <int M, typename Epi, NormPart Part>
__global__ void __launch_bounds__(kWarps * 32, kNormMinBlocks)
    gemv_norm_kernel(const bf16* x, const bf16* w, int in, int cols, int row_step, Epi epi, SplitNorm norm) {
  gemv_body<M, Epi, Part>(x, w, in, cols, row_step, epi, norm);
}

template <int M, typename Epi, NormPart Part = NormPart::kNone>
void launch_rows(const bf16* x, const bf16* w, int in, int cols, int row_step, Epi epi, cudaStream_t stream,
                 const SplitNorm& norm = {}) {
  const dim3 grid((cols + kWarps - 1) / kWarps), block(kWarps * 32);
  if constexpr (Part == NormPart::kNone)
    launch_pdl(gemv_kernel<M, Epi>, grid, block, 0, stream, x, w, in, cols, row_step, epi);
  else
    launch_pdl(gemv_norm_kernel<M, Epi, Part>, grid, block, 0, stream, x, w, in, cols, row_step, epi, norm);
  CUDA_CHECK_LAUNCH();
}

void check_split_norm(int rows, int width, const char* what) {
  if (rows != 1 || width % (4 * kWarps) != 0)
    throw std::invalid_argument(std::string(what) + ": 1 row and a width that is a multiple of 32");
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

void gemv_norm_begin(const bf16* x, const bf16* w, int rows, int in, int out, const SplitNorm& norm,
                     cudaStream_t stream) {
  check_split_norm(rows, out, "gemv_norm_begin");
  const PlainEpilogue<bf16> unused{nullptr, nullptr, out};
  launch_rows<1, PlainEpilogue<bf16>, NormPart::kBegin>(x, w, in, out, 0, unused, stream, norm);
}

void gemv_norm_end(const SplitNorm& norm, const bf16* w, bf16* y, int rows, int in, int out, cudaStream_t stream,
                   const bf16* bias) {
  check_split_norm(rows, in, "gemv_norm_end");
  const PlainEpilogue<bf16> epi{bias, y, out};
  launch_rows<1, PlainEpilogue<bf16>, NormPart::kEnd>(norm.scaled, w, in, out, 0, epi, stream, norm);
}

void gemv_norm_end_swiglu(const SplitNorm& norm, const bf16* gate_up, bf16* y, int rows, int in, int inter,
                          cudaStream_t stream) {
  check_split_norm(rows, in, "gemv_norm_end_swiglu");
  const SwigluEpilogue epi{y, inter};
  launch_rows<1, SwigluEpilogue, NormPart::kEnd>(norm.scaled, gate_up, in, inter, inter, epi, stream, norm);
}

}  // namespace dynamo::gpu
