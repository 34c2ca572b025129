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

// Split kernel variants: AttentionDecodeParams::mode (DecodeAttentionMode).
constexpr int kPlain = int(DecodeAttentionMode::kPlain), kPrefetch = int(DecodeAttentionMode::kPrefetch),
              kRope = int(DecodeAttentionMode::kRope), kCombine = int(DecodeAttentionMode::kCombine);

// RoPE on dims [d0, d0 + 8) of one head (neox pairs i, i + rotary_dim / 2 over the first rotary_dim
// dims; rotary_dim % 16 == 0 keeps all 8 on one side of a pair) by rope_lo / rope_hi, as
// rope_and_cache_kernel, so the fused and unfused paths give the same bits. cos/sin come from the
// token's row of the step's table (rope_table()).
struct Rope8 {
  float cs[8], sn[8];
  int partner = -1;  // dim offset of the pair's other half; -1: d0 is past rotary_dim (no rotation)
  bool lo = true;    // d0 in the first half of the pair

  __device__ __forceinline__ Rope8(int d0, const float2* cos_sin_row, int rotary_dim) {
    const int half = rotary_dim / 2;
    if (d0 >= rotary_dim) return;
    lo = d0 < half;
    partner = lo ? d0 + half : d0 - half;
    const int f0 = lo ? d0 : d0 - half;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const float2 v = cos_sin_row[f0 + i];
      cs[i] = v.x;
      sn[i] = v.y;
    }
  }

  // x: the head's dims [d0, d0 + 8), unrotated; y: its dims [partner, partner + 8) (the caller loads
  // both together, so that their round trips overlap).
  __device__ __forceinline__ void rotate(const float (&y)[8], float (&x)[8]) const {
    if (partner < 0) return;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const float x1 = lo ? x[i] : y[i], x2 = lo ? y[i] : x[i];
      x[i] = lo ? rope_lo(x1, x2, cs[i], sn[i]) : rope_hi(x1, x2, cs[i], sn[i]);
    }
  }
};

// Keys of a split whose K and V rows are copied to shared memory before the PDL wait (0: none), so
// that they stream while the kernels before this one (QKV product, RoPE) still run: what fits beside
// the kernel's other static shared memory with 5 blocks per multiprocessor (228 KiB, 1 KiB reserved
// per block on Hopper), in multiples of 8, at most 64.
template <int D, int MAXG, int CHUNK>
constexpr int prefetch_keys() {
  constexpr int base = (MAXG * CHUNK + 3 * MAXG + kWarps * MAXG * D) * 4;
  constexpr int fit = ((228 * 1024) / 5 - 1024 - base) / (4 * D) / 8 * 8;
  return fit < 0 ? 0 : (fit > 64 ? 64 : fit);
}

// kUnroll: K/V loads in flight per thread. MODE >= kPrefetch: stage the split's first keys in shared
// memory before the wait (prefetch_keys()). Only keys older than the new token are staged: the new
// token's K and V are this step's (written by the RoPE kernel, or by this kernel at MODE >= kRope).
// The metadata (context lengths, block tables) is read before the wait as well: it
// is uploaded before the step's first kernel, which is not launched with PDL, so every PDL kernel of
// the step starts after it. MODE >= kRope: q and the new k are rotated here (no RoPE kernel before),
// and the split that holds the new token stores its K and V in the cache. MODE == kCombine: the last
// split block of each (sequence, kv head) to finish merges the splits (no combine kernel after).
// Blocks per multiprocessor the split kernel is held to (registers): for groups of up to 4 query
// heads, 5 at one load in flight (batch 8 at 4k context is 576 blocks, one wave at 5 per SM: measured
// 12.3 ms a step at 116 registers, 10.0 at 96) and 4 at four loads in flight.
template <int MAXG, int kUnroll>
constexpr int split_min_blocks() {
  return MAXG > 4 ? 1 : (kUnroll == 1 ? 5 : 4);
}

template <int D, int MAXG, int kUnroll, int MODE>
__global__ void __launch_bounds__(kThreads, split_min_blocks<MAXG, kUnroll>())
    attention_decode_split_kernel(const AttentionDecodeParams p) {
  constexpr bool ROPE = MODE >= kRope, COMBINE = MODE == kCombine;
  constexpr int TPK = D / 8;        // threads per key
  constexpr int KPW = 32 / TPK;     // keys per warp per iteration
  constexpr int KPB = kWarps * KPW;  // keys per block per iteration
  constexpr int CHUNK = MAXG > 8 ? 128 : 256;
  constexpr int PRE = MODE >= kPrefetch ? prefetch_keys<D, MAXG, CHUNK>() : 0;
  constexpr int PRE_ROWS = PRE > 0 ? PRE : 1;
  __shared__ float sS[MAXG][CHUNK];
  __shared__ float sM[MAXG], sL[MAXG], sA[MAXG];
  __shared__ __align__(16) float sRed[kWarps][MAXG][D];  // sRed[0] also holds q (float4 stores)
  __shared__ __align__(16) bf16 sK[PRE_ROWS][D], sV[PRE_ROWS][D];
  __shared__ __align__(16) bf16 sKnew[ROPE ? D : 8], sVnew[ROPE ? D : 8];  // the new token's rotated k, its v
  __shared__ int sLast;

  const PdlScope pdl(TimelineTag::kAttention);
  const int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int ctx = p.ctx_len[s];
  const int per = (ctx + p.num_splits - 1) / p.num_splits;
  const int start = split * per;
  const int end = min(ctx, start + per);
  const int32_t* bt = p.block_tables + int64_t(s) * (*p.bt_stride);
  const int pre_end = PRE > 0 ? max(start, min(min(end, ctx - 1), start + PRE)) : start;  // staged: [start, pre_end)
  if constexpr (PRE > 0) {
    constexpr int PIECES = D / 8;  // 16-byte pieces per row
    for (int idx = tid; idx < (pre_end - start) * PIECES; idx += kThreads) {
      const int r = idx / PIECES, c = (idx % PIECES) * 8;
      const int64_t off = paged_kv_offset(bt, start + r, p.block_size, p.num_kv_heads, kvh, D) + c;
      cp_async16(smem_u32(&sK[r][c]), p.k_cache + off);
      cp_async16(smem_u32(&sV[r][c]), p.v_cache + off);
    }
    cp_async_commit();
  }
  pdl_wait();
  const int G = p.num_heads / p.num_kv_heads;
  auto part = [&](int g) { return (int64_t(s) * p.num_heads + kvh * G + g) * p.num_splits + split; };
  // MODE == kCombine: publish this split, count it, and let the last split block of this (sequence,
  // kv head) merge all of them (partials read with ld.cg: other multiprocessors wrote them). The last
  // block resets the counter for the next launch.
  auto combine_if_last = [&]() {
    __threadfence();
    __syncthreads();
    int32_t* counter = p.counters + s * p.num_kv_heads + kvh;
    if (tid == 0) sLast = atomicAdd(counter, 1) == p.num_splits - 1;
    __syncthreads();
    timeline_mark(2);  // published and counted
    if (!sLast) return;
    __threadfence();
    const int n = p.num_splits;
    for (int g = warp; g < G; g += kWarps) {
      const int64_t base = (int64_t(s) * p.num_heads + kvh * G + g) * n;
      float m0 = -INFINITY, l0 = 0.f, m1 = -INFINITY, l1 = 0.f;
      if (lane < n) m0 = __ldcg(p.part_ml + (base + lane) * 2), l0 = __ldcg(p.part_ml + (base + lane) * 2 + 1);
      if (lane + 32 < n)
        m1 = __ldcg(p.part_ml + (base + lane + 32) * 2), l1 = __ldcg(p.part_ml + (base + lane + 32) * 2 + 1);
      const float m = warp_max(fmaxf(m0, m1));
      const float w0 = m0 == -INFINITY ? 0.f : exp2f(m0 - m);  // a split that saw no key weighs nothing
      const float w1 = m1 == -INFINITY ? 0.f : exp2f(m1 - m);
      const float l = warp_sum(l0 * w0) + warp_sum(l1 * w1);  // the combine kernel's order: same bits
      if (lane < n) sS[g][lane] = w0;
      if (lane + 32 < n) sS[g][lane + 32] = w1;
      if (lane == 0) sL[g] = l;
    }
    __syncthreads();
    constexpr int Q = D / 4;  // float4 columns per head
    for (int idx = tid; idx < G * Q; idx += kThreads) {
      const int g = idx / Q, d = (idx % Q) * 4;
      const float4* src =
          reinterpret_cast<const float4*>(p.part_acc + (int64_t(s) * p.num_heads + kvh * G + g) * n * D + d);
      float4 o = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 16
      for (int i = 0; i < n; ++i) {
        const float4 a = __ldcg(src + int64_t(i) * Q);
        const float w = sS[g][i];
        o.x += a.x * w, o.y += a.y * w, o.z += a.z * w, o.w += a.w * w;
      }
      const float l = sL[g];
      auto div = [l](float x) { return l > 0.f ? x / l : 0.f; };
      __nv_bfloat162 r[2] = {__floats2bfloat162_rn(div(o.x), div(o.y)), __floats2bfloat162_rn(div(o.z), div(o.w))};
      *reinterpret_cast<uint2*>(p.out + int64_t(s) * p.out_stride + (kvh * G + g) * D + d) =
          *reinterpret_cast<const uint2*>(r);
    }
    if (tid == 0) *counter = 0;
  };
  if (start >= end) {
    for (int idx = tid; idx < G * D; idx += kThreads) p.part_acc[part(idx / D) * D + idx % D] = 0.f;
    if (tid < G) {
      p.part_ml[part(tid) * 2] = -INFINITY;
      p.part_ml[part(tid) * 2 + 1] = 0.f;
    }
    if constexpr (COMBINE) combine_if_last();
    return;
  }
  const int kg = lane / TPK, d0 = (lane % TPK) * 8;
  const float scale_log2 = p.scale * 1.4426950408889634f;
  const bf16* qrow = p.q + int64_t(s) * p.q_stride;
  // The new token (position ctx - 1) when this split holds it and this kernel rotates it, else -1.
  const int fresh = ROPE && end == ctx ? ctx - 1 : -1;
  // The group's q, rotated (MODE >= kRope) and scaled, formed once per block in shared memory (sRed[0],
  // unused until the final reduction), one 8-dim piece of one head per thread: the TPK-lane key
  // groups of a block all need the same q, and each forming its own copy made this phase 8 copies of
  // the rotation's ~1,300 instructions a thread (docs/PERFORMANCE.md, the kernel timeline).
  float (*sQ)[D] = sRed[0];
  {
    constexpr int PIECES = MAXG * TPK;
#pragma unroll
    for (int it = 0; it < (PIECES + kThreads - 1) / kThreads; ++it) {
      const int piece = tid + it * kThreads;
      if (piece >= PIECES) break;
      const int g = piece / TPK, dd = (piece % TPK) * 8;
      float v[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) v[i] = 0.f;
      if (g < G) {
        const Rope8 rot(dd, p.cos_sin + int64_t(s) * (p.rotary_dim / 2), ROPE ? p.rotary_dim : 0);
        const bf16* head = qrow + (kvh * G + g) * D;
        const uint4 raw = *reinterpret_cast<const uint4*>(head + dd);  // both loads in flight together
        uint4 praw = raw;
        if (ROPE && rot.partner >= 0) praw = *reinterpret_cast<const uint4*>(head + rot.partner);
        unpack8(raw, v);
        if (ROPE && rot.partner >= 0) {
          float y[8];
          unpack8(praw, y);
          rot.rotate(y, v);
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] *= scale_log2;
      }
      *reinterpret_cast<float4*>(&sQ[g][dd]) = make_float4(v[0], v[1], v[2], v[3]);
      *reinterpret_cast<float4*>(&sQ[g][dd + 4]) = make_float4(v[4], v[5], v[6], v[7]);
    }
    if (fresh >= 0 && tid < TPK) {  // lanes 0..TPK-1 of warp 0: their d0 is tid * 8, so rot fits
      const Rope8 rot(d0, p.cos_sin + int64_t(s) * (p.rotary_dim / 2), ROPE ? p.rotary_dim : 0);
      const bf16* khead = qrow + (p.num_heads + kvh) * D;
      const bf16* vhead = qrow + (p.num_heads + p.num_kv_heads + kvh) * D;
      // All four loads in flight together: the new token's block is on the step's critical path.
      const uint4 kraw = *reinterpret_cast<const uint4*>(khead + d0);
      const uint4 vraw = *reinterpret_cast<const uint4*>(vhead + d0);
      uint4 kpart = kraw;
      if (rot.partner >= 0) kpart = *reinterpret_cast<const uint4*>(khead + rot.partner);
      const int slot = p.slots[s];
      float kx[8], ky[8];
      unpack8(kraw, kx);
      unpack8(kpart, ky);
      rot.rotate(ky, kx);
      store8(sKnew + d0, kx);  // kx holds bf16 values: exact
      *reinterpret_cast<uint4*>(sVnew + d0) = vraw;
      if (slot >= 0) {
        const int64_t off = (int64_t(slot) * p.num_kv_heads + kvh) * D + d0;
        *reinterpret_cast<uint4*>(p.k_store + off) = *reinterpret_cast<const uint4*>(sKnew + d0);
        *reinterpret_cast<uint4*>(p.v_store + off) = vraw;
      }
    }
  }
  if (tid < MAXG) {
    sM[tid] = -INFINITY;
    sL[tid] = 0.f;
  }
  if constexpr (PRE > 0) cp_async_wait<0>();
  __syncthreads();
  timeline_mark(0);  // K/V staged, q (rotated) in shared memory
  float q[MAXG][8], acc[MAXG][8];
#pragma unroll
  for (int g = 0; g < MAXG; ++g) {
#pragma unroll
    for (int i = 0; i < 8; ++i) q[g][i] = sQ[g][d0 + i], acc[g][i] = 0.f;
  }
  // This thread's 8 dims of key j's K (or V) row: staged in shared memory, the new token's (rotated
  // here), or in the cache.
  auto key_row = [&](int j, const bf16* staged, const bf16* fresh_row, const bf16* cache) -> const bf16* {
    if (j < pre_end) return staged + (j - start) * D + d0;
    if (ROPE && j == fresh) return fresh_row + d0;
    return cache + paged_kv_offset(bt, j, p.block_size, p.num_kv_heads, kvh, D) + d0;
  };

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
        if (jj < n) load8(key_row(c + jj, &sK[0][0], sKnew, p.k_cache), k[u]);
      }
      // Every head of the group at once (q is zero past G), summed over the key's TPK lanes by a
      // reduce-scatter: at each offset a lane keeps the half of its heads that its lane bit picks and adds
      // the partner lane's copy of that half (then, one head left, plain butterfly steps). The additions
      // form the butterfly's tree, so the sums are the butterfly's bits; 4 heads over 16 lanes take 5
      // shuffles per key instead of 16.
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int jj = base + u * KPB + kg;
        float d[MAXG];
#pragma unroll
        for (int g = 0; g < MAXG; ++g) {
          d[g] = 0.f;
#pragma unroll
          for (int i = 0; i < 8; ++i) d[g] += q[g][i] * k[u][i];
        }
        int h0 = 0;  // the head of d[0] after the halvings
#pragma unroll
        for (int o = TPK / 2, cnt = MAXG; o > 0; o >>= 1) {
          if (cnt > 1) {
            const bool upper = (lane & o) != 0;
#pragma unroll
            for (int i = 0; i < cnt / 2; ++i) {
              const float send = upper ? d[i] : d[i + cnt / 2];
              const float keep = upper ? d[i + cnt / 2] : d[i];
              d[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
            }
            if (upper) h0 += cnt / 2;
            cnt /= 2;
          } else {
            d[0] += __shfl_xor_sync(0xffffffffu, d[0], o);
          }
        }
        constexpr int HELD = MAXG >= TPK ? MAXG / TPK : 1;    // heads a lane holds at the end
        constexpr int STRIDE = MAXG >= TPK ? 1 : TPK / MAXG;  // lanes that hold the same head
        if (jj < n && lane % STRIDE == 0) {
#pragma unroll
          for (int i = 0; i < HELD; ++i)
            if (h0 + i < G) sS[h0 + i][jj] = d[i];
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
        if (jj < n) load8(key_row(c + jj, &sV[0][0], sVnew, p.v_cache), v[u]);
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
  timeline_mark(1);  // Q.K, softmax, P.V done
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
  if constexpr (COMBINE) combine_if_last();
}

// One block of head_dim threads per (sequence, q head); the splits' (max, sum) pairs are read in
// parallel (one per thread, num_splits <= kMaxSplits <= head_dim) and their weights go through shared
// memory, so the per-dimension sum issues its loads back to back instead of one latency per split.
constexpr int kMaxSplits = 64;

__global__ void attention_decode_combine_kernel(const AttentionDecodeParams p) {
  const PdlScope pdl(TimelineTag::kAttentionCombine);
  __shared__ float s_w[kMaxSplits], s_red[2][4];
  const int s = blockIdx.x, h = blockIdx.y, d = threadIdx.x, warp = d / 32, lane = d % 32;
  const int warps = blockDim.x / 32, n = p.num_splits;
  pdl_wait();
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
  const int mode = p.unroll >= 4 ? kPlain : int(p.mode);
  if (p.unroll >= 4)
    launch_pdl(attention_decode_split_kernel<D, MAXG, 4, kPlain>, grid, kThreads, 0, stream, p);
  else if (mode == kCombine)
    launch_pdl(attention_decode_split_kernel<D, MAXG, 1, kCombine>, grid, kThreads, 0, stream, p);
  else if (mode == kRope)
    launch_pdl(attention_decode_split_kernel<D, MAXG, 1, kRope>, grid, kThreads, 0, stream, p);
  else if (mode == kPrefetch)
    launch_pdl(attention_decode_split_kernel<D, MAXG, 1, kPrefetch>, grid, kThreads, 0, stream, p);
  else
    launch_pdl(attention_decode_split_kernel<D, MAXG, 1, kPlain>, grid, kThreads, 0, stream, p);
  CUDA_CHECK_LAUNCH();
  if (mode == kCombine) return;  // the split kernel merged the splits
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
  if (p.unroll < 4 && p.mode >= DecodeAttentionMode::kRope &&
      (p.rotary_dim <= 0 || p.rotary_dim % 16 != 0 || p.rotary_dim > p.head_dim || p.cos_sin == nullptr ||
       p.slots == nullptr || p.k_store == nullptr || p.v_store == nullptr))
    throw std::invalid_argument("attention_decode: RoPE in the split kernel needs rotary_dim % 16 == 0 (<= head_dim), "
                                "the cos/sin table, slots and the writable cache");
  if (p.unroll < 4 && p.mode == DecodeAttentionMode::kCombine && p.counters == nullptr)
    throw std::invalid_argument("attention_decode: merging in the split kernel needs the counters");
  switch (p.head_dim) {
    case 64: launch_group<64>(p, stream); break;
    case 128: launch_group<128>(p, stream); break;
    default:
      throw std::invalid_argument("attention_decode: head_dim " + std::to_string(p.head_dim) +
                                  " is not supported (64 or 128)");
  }
}

}  // namespace dynamo::gpu
