// Skinny-product kernels: one warp per output column n (a row of W), 16-byte loads, four loads in
// flight per lane, x read through the read-only cache (it is small and shared by every warp). Launched
// with PDL: each warp's first weight loads are issued before pdl_wait, while the previous kernel drains.
#include <stdexcept>

#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/gemv.cuh"
#include "gpu/kernels/pdl.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kWarps = 8;
constexpr int kUnroll = 4;

__device__ __forceinline__ void store_out(bf16* y, float v) { *y = __float2bfloat16(v); }
__device__ __forceinline__ void store_out(float* y, float v) { *y = v; }

__device__ __forceinline__ void unpack8(const uint4& raw, float (&out)[8]) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(h[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}

template <int M, typename Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const bf16* x, const bf16* w, Out* y, int in, int out) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  const uint4* wr = reinterpret_cast<const uint4*>(w + size_t(n) * in);
  const int vecs = in / 8;
  // The weights are no kernel's output: the first batch of a row is requested before the wait.
  uint4 wv[kUnroll];
  if (n < out && lane + 32 * (kUnroll - 1) < vecs) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) wv[u] = __ldcs(wr + lane + 32 * u);  // streamed once: do not keep in L2
  }
  pdl_wait();
  pdl_trigger();
  if (n >= out) return;
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  float acc[M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.f;
  int k = lane;
  for (; k + 32 * (kUnroll - 1) < vecs; k += 32 * kUnroll) {
    if (k != lane) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) wv[u] = __ldcs(wr + k + 32 * u);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float wf[8];
      unpack8(wv[u], wf);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        float xf[8];
        unpack8(__ldg(xr + size_t(m) * vecs + k + 32 * u), xf);
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[m] += wf[i] * xf[i];
      }
    }
  }
  for (; k < vecs; k += 32) {
    float wf[8];
    unpack8(__ldcs(wr + k), wf);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float xf[8];
      unpack8(__ldg(xr + size_t(m) * vecs + k), xf);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[m] += wf[i] * xf[i];
    }
  }
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float v = warp_sum(acc[m]);
    if (lane == 0) store_out(y + size_t(m) * out + n, v);
  }
}

// Gate/up product fused with SwiGLU: warp n dots x with W rows n (gate) and inter + n (up) and
// writes bf16(bf16(silu(bf16(g))) * bf16(u)), the rounding of the unfused path.
template <int M>
__global__ void __launch_bounds__(kWarps * 32) gemv_swiglu_kernel(const bf16* x, const bf16* w, bf16* y, int in,
                                                                  int inter) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  const uint4* wg = reinterpret_cast<const uint4*>(w + size_t(n) * in);
  const uint4* wu = reinterpret_cast<const uint4*>(w + size_t(inter + n) * in);
  const int vecs = in / 8;
  // The first iteration's weight loads are issued before the wait (the weights are no kernel's output).
  uint4 g0 = make_uint4(0, 0, 0, 0), u0 = g0, g1 = g0, u1 = g0;
  auto load = [&](int k) {
    g0 = __ldcs(wg + k), u0 = __ldcs(wu + k);
    if (k + 32 < vecs) g1 = __ldcs(wg + k + 32), u1 = __ldcs(wu + k + 32);
  };
  if (n < inter && lane < vecs) load(lane);
  pdl_wait();
  pdl_trigger();
  if (n >= inter) return;
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  float ag[M], au[M];
#pragma unroll
  for (int m = 0; m < M; ++m) ag[m] = au[m] = 0.f;
  for (int k = lane; k < vecs; k += 64) {
    const bool two = k + 32 < vecs;
    if (k != lane) load(k);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if (h == 1 && !two) break;
      float gf[8], uf[8];
      unpack8(h ? g1 : g0, gf);
      unpack8(h ? u1 : u0, uf);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        float xf[8];
        unpack8(__ldg(xr + size_t(m) * vecs + k + 32 * h), xf);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          ag[m] += gf[i] * xf[i];
          au[m] += uf[i] * xf[i];
        }
      }
    }
  }
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float g = round_bf16(warp_sum(ag[m])), u = round_bf16(warp_sum(au[m]));
    if (lane == 0) y[size_t(m) * inter + n] = __float2bfloat16(round_bf16(g / (1.f + __expf(-g))) * u);
  }
}

template <typename Out>
void launch(const bf16* x, const bf16* w, Out* y, int rows, int in, int out, cudaStream_t stream) {
  const dim3 grid((out + kWarps - 1) / kWarps), block(kWarps * 32);
  switch (rows) {
    case 1: launch_pdl(gemv_kernel<1, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 2: launch_pdl(gemv_kernel<2, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 3: launch_pdl(gemv_kernel<3, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 4: launch_pdl(gemv_kernel<4, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 5: launch_pdl(gemv_kernel<5, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 6: launch_pdl(gemv_kernel<6, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 7: launch_pdl(gemv_kernel<7, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    case 8: launch_pdl(gemv_kernel<8, Out>, grid, block, 0, stream, x, w, y, in, out); break;
    default: return;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void gemv_bf16(const bf16* x, const bf16* w, bf16* y, int rows, int in, int out, cudaStream_t stream) {
  launch(x, w, y, rows, in, out, stream);
}

void gemv_f32(const bf16* x, const bf16* w, float* y, int rows, int in, int out, cudaStream_t stream) {
  launch(x, w, y, rows, in, out, stream);
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
