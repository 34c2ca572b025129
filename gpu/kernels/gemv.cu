// Skinny-product kernels: one warp per output column n (a row of W), 16-byte loads, four loads in
// flight per lane, x read through the read-only cache (it is small and shared by every warp). Launched
// with PDL: each warp's first weight loads are issued before pdl_wait, while the kernels before it
// finish (with the early trigger of pdl.cuh, possibly several kernels before it).
#include <stdexcept>

#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/gemv.cuh"
#include "gpu/kernels/pdl.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kWarps = 8;
constexpr int kUnroll = 4;

// 16-byte loads per lane issued before the PDL wait. 8 measured the same as 4 on an H100 (batch-1
// decode step 5.94 vs 5.94 ms), 16 slower (6.39 ms: 128 registers, half the resident blocks).
constexpr int kPreloads = 4;

__device__ __forceinline__ void store_out(bf16* y, float v) { *y = __float2bfloat16(v); }
__device__ __forceinline__ void store_out(float* y, float v) { *y = v; }

// Before the wait each lane requests its first kPreloads 16-byte pieces of the row (lane + 32 u): the
// weights are no kernel's output, so they stream while the previous kernels finish.
// bias (may be null): added to the fp32 sum before the one rounding of the output, as a GEMM epilogue
// (and transformers' addmm) does.
template <int M, typename Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const bf16* x, const bf16* w, const bf16* bias, Out* y,
                                                           int in, int out) {
  pdl_begin();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  const uint4* wr = reinterpret_cast<const uint4*>(w + size_t(n) * in);
  const int vecs = in / 8;
  uint4 pre[kPreloads];
#pragma unroll
  for (int u = 0; u < kPreloads; ++u)
    if (n < out && lane + 32 * u < vecs) pre[u] = __ldcs(wr + lane + 32 * u);  // streamed once: not kept in L2
  pdl_wait();
  if (n >= out) return;
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  float acc[M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.f;
  auto fma8 = [&](const uint4& wv, int k) {
    float wf[8];
    unpack8(wv, wf);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float xf[8];
      unpack8(__ldg(xr + size_t(m) * vecs + k), xf);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[m] += wf[i] * xf[i];
    }
  };
#pragma unroll
  for (int u = 0; u < kPreloads; ++u)
    if (lane + 32 * u < vecs) fma8(pre[u], lane + 32 * u);
  int k = lane + 32 * kPreloads;
  for (; k + 32 * (kUnroll - 1) < vecs; k += 32 * kUnroll) {
    uint4 wv[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) wv[u] = __ldcs(wr + k + 32 * u);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) fma8(wv[u], k + 32 * u);
  }
  for (; k < vecs; k += 32) fma8(__ldcs(wr + k), k);
#pragma unroll
  for (int m = 0; m < M; ++m) {
    float v = warp_sum(acc[m]);
    if (bias != nullptr) v += __bfloat162float(bias[n]);
    if (lane == 0) store_out(y + size_t(m) * out + n, v);
  }
}

// Gate/up product fused with SwiGLU: warp n dots x with W rows n (gate) and inter + n (up) and
// writes bf16(bf16(silu(bf16(g))) * bf16(u)), the rounding of the unfused path. kPreloads / 2 pieces
// of each of the two rows are requested before the wait.
template <int M>
__global__ void __launch_bounds__(kWarps * 32) gemv_swiglu_kernel(const bf16* x, const bf16* w, bf16* y, int in,
                                                                  int inter) {
  constexpr int PRE = kPreloads / 2;  // pieces of each of the two rows
  pdl_begin();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  const uint4* wg = reinterpret_cast<const uint4*>(w + size_t(n) * in);
  const uint4* wu = reinterpret_cast<const uint4*>(w + size_t(inter + n) * in);
  const int vecs = in / 8;
  uint4 pg[PRE], pu[PRE];
#pragma unroll
  for (int u = 0; u < PRE; ++u) {
    if (n < inter && lane + 32 * u < vecs) {
      pg[u] = __ldcs(wg + lane + 32 * u);
      pu[u] = __ldcs(wu + lane + 32 * u);
    }
  }
  pdl_wait();
  if (n >= inter) return;
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  float ag[M], au[M];
#pragma unroll
  for (int m = 0; m < M; ++m) ag[m] = au[m] = 0.f;
  auto fma8 = [&](const uint4& gv, const uint4& uv, int k) {
    float gf[8], uf[8];
    unpack8(gv, gf);
    unpack8(uv, uf);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float xf[8];
      unpack8(__ldg(xr + size_t(m) * vecs + k), xf);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        ag[m] += gf[i] * xf[i];
        au[m] += uf[i] * xf[i];
      }
    }
  };
#pragma unroll
  for (int u = 0; u < PRE; ++u)
    if (lane + 32 * u < vecs) fma8(pg[u], pu[u], lane + 32 * u);
  constexpr int kPairs = kUnroll / 2;  // gate and up pieces in flight: 2 per pair
  int k = lane + 32 * PRE;
  for (; k + 32 * (kPairs - 1) < vecs; k += 32 * kPairs) {
    uint4 gv[kPairs], uv[kPairs];
#pragma unroll
    for (int u = 0; u < kPairs; ++u) gv[u] = __ldcs(wg + k + 32 * u), uv[u] = __ldcs(wu + k + 32 * u);
#pragma unroll
    for (int u = 0; u < kPairs; ++u) fma8(gv[u], uv[u], k + 32 * u);
  }
  for (; k < vecs; k += 32) fma8(__ldcs(wg + k), __ldcs(wu + k), k);
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float g = round_bf16(warp_sum(ag[m])), u = round_bf16(warp_sum(au[m]));
    if (lane == 0) y[size_t(m) * inter + n] = __float2bfloat16(round_bf16(g / (1.f + __expf(-g))) * u);
  }
}

template <int M, typename Out>
void launch_rows(const bf16* x, const bf16* w, const bf16* bias, Out* y, int in, int out, cudaStream_t stream) {
  const dim3 grid((out + kWarps - 1) / kWarps), block(kWarps * 32);
  launch_pdl(gemv_kernel<M, Out>, grid, block, 0, stream, x, w, bias, y, in, out);
}

template <typename Out>
void launch(const bf16* x, const bf16* w, const bf16* bias, Out* y, int rows, int in, int out, cudaStream_t stream) {
  switch (rows) {
    case 1: launch_rows<1>(x, w, bias, y, in, out, stream); break;
    case 2: launch_rows<2>(x, w, bias, y, in, out, stream); break;
    case 3: launch_rows<3>(x, w, bias, y, in, out, stream); break;
    case 4: launch_rows<4>(x, w, bias, y, in, out, stream); break;
    case 5: launch_rows<5>(x, w, bias, y, in, out, stream); break;
    case 6: launch_rows<6>(x, w, bias, y, in, out, stream); break;
    case 7: launch_rows<7>(x, w, bias, y, in, out, stream); break;
    case 8: launch_rows<8>(x, w, bias, y, in, out, stream); break;
    default: return;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void gemv_bf16(const bf16* x, const bf16* w, bf16* y, int rows, int in, int out, cudaStream_t stream,
               const bf16* bias) {
  launch(x, w, bias, y, rows, in, out, stream);
}

void gemv_f32(const bf16* x, const bf16* w, float* y, int rows, int in, int out, cudaStream_t stream) {
  launch(x, w, static_cast<const bf16*>(nullptr), y, rows, in, out, stream);
}

void gemv_swiglu(const bf16* x, const bf16* gate_up, bf16* y, int rows, int in, int inter, cudaStream_t stream) {
  const dim3 grid((inter + kWarps - 1) / kWarps), block(kWarps * 32);
  switch (rows) {
    case 1: launch_pdl(gemv_swiglu_kernel<1>, grid, block, 0, stream, x, gate_up, y, in, inter); break;
    case 2: launch_pdl(gemv_swiglu_kernel<2>, grid, block, 0, stream, x, gate_up, y, in, inter); break;
    default: throw std::invalid_argument("gemv_swiglu: 1 or 2 rows");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
