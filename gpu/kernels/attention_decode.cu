// Decode attention kernels. Split kernel: one block per (sequence, kv head, split); threads own 8 dims
// of one key at a time (16-byte loads), chunks of keys go through an online softmax in shared memory.
// Combine kernel: merges the splits' (max, sum, acc) into the bf16 output. Both launched with PDL.
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/pdl.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;

// kUnroll: K/V loads in flight per thread.
template <int D, int MAXG, int kUnroll>
__global__ void __launch_bounds__(kThreads) attention_decode_split_kernel(const AttentionDecodeParams p) {
  constexpr int TPK = D / 8;        // threads per key
  constexpr int KPW = 32 / TPK;     // keys per warp per iteration
  constexpr int KPB = kWarps * KPW;  // keys per block per iteration
  constexpr int CHUNK = MAXG > 8 ? 128 : 256;
  __shared__ float sS[MAXG][CHUNK];
  __shared__ float sM[MAXG], sL[MAXG], sA[MAXG];
  __shared__ float sRed[kWarps][MAXG][D];

  const int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  pdl_wait();
  pdl_trigger();
  const int G = p.num_heads / p.num_kv_heads;
  const int ctx = p.ctx_len[s];
  const int per = (ctx + p.num_splits - 1) / p.num_splits;
  const int start = split * per;
  const int end = min(ctx, start + per);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  auto part = [&](int g) { return (int64_t(s) * p.num_heads + kvh * G + g) * p.num_splits + split; };
  if (start >= end) {
    for (int idx = tid; idx < G * D; idx += kThreads) p.part_acc[part(idx / D) * D + idx % D] = 0.f;
    if (tid < G) {
      p.part_ml[part(tid) * 2] = -INFINITY;
      p.part_ml[part(tid) * 2 + 1] = 0.f;
    }
    return;
  }
  const int kg = lane / TPK, d0 = (lane % TPK) * 8;
  const float scale_log2 = p.scale * 1.4426950408889634f;
  float q[MAXG][8], acc[MAXG][8];
#pragma unroll
  for (int g = 0; g < MAXG; ++g) {
#pragma unroll
    for (int i = 0; i < 8; ++i) q[g][i] = acc[g][i] = 0.f;
    if (g < G) {
      load8(p.q + int64_t(s) * p.q_stride + (kvh * G + g) * D + d0, q[g]);
#pragma unroll
      for (int i = 0; i < 8; ++i) q[g][i] *= scale_log2;
    }
  }
  if (tid < MAXG) {
    sM[tid] = -INFINITY;
    sL[tid] = 0.f;
  }
  __syncthreads();
  const int32_t* bt = p.block_tables + int64_t(s) * (*p.bt_stride);
  const int64_t head_off = int64_t(kvh) * D + d0;

  for (int c = start; c < end; c += CHUNK) {
    const int n = min(CHUNK, end - c);
    // Q.K: kUnroll keys per thread in flight.
    for (int base = warp * KPW; base < n; base += KPB * kUnroll) {
      float k[kUnroll][8];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int jj = base + u * KPB + kg;
#pragma unroll
        for (int i = 0; i < 8; ++i) k[u][i] = 0.f;
        if (jj < n) {
          const int j = c + jj;
          const int64_t blk = bt[j / p.block_size];
          load8(p.k_cache + (blk * p.block_size + j % p.block_size) * p.num_kv_heads * D + head_off, k[u]);
        }
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int jj = base + u * KPB + kg;
#pragma unroll
        for (int g = 0; g < MAXG; ++g) {
          if (g >= G) break;
          float d = 0.f;
#pragma unroll
          for (int i = 0; i < 8; ++i) d += q[g][i] * k[u][i];
#pragma unroll
          for (int o = TPK / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
          if (jj < n && (lane % TPK) == 0) sS[g][jj] = d;
        }
      }
    }
    __syncthreads();
    for (int g = warp; g < G; g += kWarps) {
      float mx = -INFINITY;
      for (int i = lane; i < n; i += 32) mx = fmaxf(mx, sS[g][i]);
      mx = warp_max(mx);
      const float m_old = sM[g], m_new = fmaxf(m_old, mx);
      float sum = 0.f;
      for (int i = lane; i < n; i += 32) {
        const float e = exp2f(sS[g][i] - m_new);
        sS[g][i] = e;
        sum += e;
      }
      sum = warp_sum(sum);
      if (lane == 0) {
        const float alpha = exp2f(m_old - m_new);
        sA[g] = alpha;
        sL[g] = sL[g] * alpha + sum;
        sM[g] = m_new;
      }
    }
    __syncthreads();
#pragma unroll
    for (int g = 0; g < MAXG; ++g) {
      if (g < G) {
        const float a = sA[g];
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] *= a;
      }
    }
    for (int base = warp * KPW; base < n; base += KPB * kUnroll) {
      float v[kUnroll][8];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int jj = base + u * KPB + kg;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[u][i] = 0.f;
        if (jj < n) {
          const int j = c + jj;
          const int64_t blk = bt[j / p.block_size];
          load8(p.v_cache + (blk * p.block_size + j % p.block_size) * p.num_kv_heads * D + head_off, v[u]);
        }
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int jj = base + u * KPB + kg;
        if (jj >= n) continue;
#pragma unroll
        for (int g = 0; g < MAXG; ++g) {
          if (g < G) {
            const float w = sS[g][jj];
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[g][i] += w * v[u][i];
          }
        }
      }
    }
    __syncthreads();
  }

  // Sum over the key slots of a warp (lanes with equal lane % TPK), then over the warps.
#pragma unroll
  for (int g = 0; g < MAXG; ++g) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
      for (int o = TPK; o < 32; o <<= 1) acc[g][i] += __shfl_xor_sync(0xffffffffu, acc[g][i], o);
      if (lane < TPK) sRed[warp][g][d0 + i] = acc[g][i];
    }
  }
  __syncthreads();
  for (int idx = tid; idx < G * D; idx += kThreads) {
    const int g = idx / D, d = idx % D;
    float v = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) v += sRed[w][g][d];
    p.part_acc[part(g) * D + d] = v;
  }
  if (tid < G) {
    p.part_ml[part(tid) * 2] = sM[tid];
    p.part_ml[part(tid) * 2 + 1] = sL[tid];
  }
}

// One block of head_dim threads per (sequence, q head); the splits' (max, sum) pairs are read in
// parallel (one per thread, num_splits <= kMaxSplits <= head_dim) and their weights go through shared
// memory, so the per-dimension sum issues its loads back to back instead of one latency per split.
constexpr int kMaxSplits = 64;

__global__ void attention_decode_combine_kernel(const AttentionDecodeParams p) {
  __shared__ float s_w[kMaxSplits], s_red[2][4];
  const int s = blockIdx.x, h = blockIdx.y, d = threadIdx.x, warp = d / 32, lane = d % 32;
  const int warps = blockDim.x / 32, n = p.num_splits;
  pdl_wait();
  pdl_trigger();
  const int64_t base = (int64_t(s) * p.num_heads + h) * n;
  float mi = -INFINITY, li = 0.f;
  if (d < n) {
    mi = p.part_ml[(base + d) * 2];
    li = p.part_ml[(base + d) * 2 + 1];
  }
  const float wmax = warp_max(mi);
  if (lane == 0) s_red[0][warp] = wmax;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < warps; ++w) m = fmaxf(m, s_red[0][w]);
  const float wi = mi == -INFINITY ? 0.f : exp2f(mi - m);  // a split that saw no key weighs nothing
  if (d < n) s_w[d] = wi;
  const float wsum = warp_sum(li * wi);
  if (lane == 0) s_red[1][warp] = wsum;
  __syncthreads();
  float l = 0.f;
  for (int w = 0; w < warps; ++w) l += s_red[1][w];
  float o = 0.f;
#pragma unroll 8
  for (int i = 0; i < n; ++i) o += p.part_acc[(base + i) * p.head_dim + d] * s_w[i];
  p.out[int64_t(s) * p.out_stride + h * p.head_dim + d] = __float2bfloat16(l > 0.f ? o / l : 0.f);
}

template <int D, int MAXG>
void launch(const AttentionDecodeParams& p, cudaStream_t stream) {
  const dim3 grid(p.num_seqs, p.num_kv_heads, p.num_splits);
  if (p.unroll >= 4)
    launch_pdl(attention_decode_split_kernel<D, MAXG, 4>, grid, kThreads, 0, stream, p);
  else
    launch_pdl(attention_decode_split_kernel<D, MAXG, 1>, grid, kThreads, 0, stream, p);
  CUDA_CHECK_LAUNCH();
  launch_pdl(attention_decode_combine_kernel, dim3(p.num_seqs, p.num_heads), D, 0, stream, p);
  CUDA_CHECK_LAUNCH();
}

template <int D>
void launch_group(const AttentionDecodeParams& p, cudaStream_t stream) {
  const int g = p.num_heads / p.num_kv_heads;
  if (g <= 4) return launch<D, 4>(p, stream);
  if (g <= 8) return launch<D, 8>(p, stream);
  if (g <= 16) return launch<D, 16>(p, stream);
  throw std::invalid_argument("attention_decode: more than 16 query heads per kv head");
}

}  // namespace

int decode_splits(int num_seqs, int num_kv_heads, int num_sms, int waves) {
  const int blocks = num_seqs * num_kv_heads;
  if (waves <= 0) waves = blocks <= 64 ? 4 : 2;  // measured on H100 (docs/PERFORMANCE.md)
  int splits = (waves * num_sms + blocks - 1) / blocks;  // about `waves` blocks per multiprocessor
  return splits < 1 ? 1 : (splits > kMaxSplits ? kMaxSplits : splits);
}

void attention_decode(const AttentionDecodeParams& p, cudaStream_t stream) {
  if (p.num_seqs == 0) return;
  if (p.num_splits < 1 || p.num_splits > kMaxSplits)
    throw std::invalid_argument("attention_decode: num_splits " + std::to_string(p.num_splits) + " not in 1.." +
                                std::to_string(kMaxSplits));
  if (p.num_heads % p.num_kv_heads != 0) throw std::invalid_argument("attention: num_heads % num_kv_heads != 0");
  switch (p.head_dim) {
    case 64: launch_group<64>(p, stream); break;
    case 128: launch_group<128>(p, stream); break;
    default:
      throw std::invalid_argument("attention_decode: head_dim " + std::to_string(p.head_dim) +
                                  " is not supported (64 or 128)");
  }
}

}  // namespace dynamo::gpu
