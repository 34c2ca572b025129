// Decode attention (attention_decode.cuh). Split kernel on tensor cores: one block of 4 warps per
// (sequence, kv head, split). The split's keys go in 16-key tiles, tile t to warp t % 4, each warp with
// its own online softmax in registers: S = Q K^T on mma.sync m16n8k16 with the group's query heads as
// the 16 rows (those past the group zero), then O^T += V^T P^T with head_dim as the rows and the heads
// as the 8 columns, so that S's accumulators are P^T's operand as they stand (P as two bf16 parts) and
// O holds no padding rows. The first 64 keys are copied to shared memory before the PDL wait (mode >=
// kPrefetch); later tiles are loaded by their warp, the next tile's K while this tile's softmax and P.V
// run, its V while the next S runs. The four warps' (max, sum, O) are merged in shared memory into the
// split's partial. The splits are merged by merge_splits(): in the split kernel by the last split
// block of each (sequence, kv head) (mode kCombine), else by the combine kernel after it, so every
// mode gives the same bits. Both kernels launched with PDL.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/mma_utils.cuh"
#include "gpu/kernels/pdl.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;

constexpr int kTile = 16;               // keys per warp tile (the k of P.V's mma)
constexpr int kRound = kWarps * kTile;  // keys the block holds in shared memory at once

// Keys a split takes: the context over the splits, but at least one round (64 keys), so that short
// contexts use fewer splits (fewer partials to merge) and leave the rest empty.
__device__ __forceinline__ int decode_split_keys(int ctx, int num_splits) {
  return max(kRound, (ctx + num_splits - 1) / num_splits);
}

// Splits that hold a key (the merges read these partials only; the others are never written).
__device__ __forceinline__ int decode_splits_used(int ctx, int num_splits) {
  const int per = decode_split_keys(ctx, num_splits);
  return (ctx + per - 1) / per;
}

// Index of (sequence s, query head h, split) in the partials: part_acc rows of head_dim, part_ml pairs.
__device__ __forceinline__ int64_t decode_partial_index(const AttentionDecodeParams& p, int s, int h, int split) {
  return (int64_t(s) * p.num_heads + h) * p.num_splits + split;
}

// The modes as template constants (DecodeAttentionMode).
constexpr int kPlain = int(DecodeAttentionMode::kPlain), kPrefetch = int(DecodeAttentionMode::kPrefetch),
              kRope = int(DecodeAttentionMode::kRope), kCombine = int(DecodeAttentionMode::kCombine);

// Keys [start, end) of split `split` of sequence s, whose context (the new token included) is ctx;
// empty for the splits past decode_splits_used().
struct SplitRange {
  int ctx, start, end;
  __device__ __forceinline__ SplitRange(const AttentionDecodeParams& p, int s, int split) {
    ctx = p.ctx_len[s];
    const int per = decode_split_keys(ctx, p.num_splits);
    start = split * per;
    end = min(ctx, start + per);
  }
};

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

// The splits' partials of (sequence s, kv head kvh) merged into the bf16 output by one block of
// kThreads, in the one summation order of every mode: a warp per head weighs the splits (their max,
// then exp2 of each max against it; the sum of l_i w_i as two 32-split warp sums), then a float4
// column a thread adds acc_i w_i in split order. BATCHED (the combine kernel): 16 splits' loads are
// issued before the first is used, as the loop unrolled by 16 compiles to in the split kernel, where
// explicit batches spill (96 registers) and the combine kernel's rendering of that loop kept one load
// in flight at a time. Partials read through L2 only (in the split kernel other multiprocessors wrote
// them). w: shared [MAXG][kMaxDecodeSplits] weights, l_sum: shared [MAXG].
template <int D, int MAXG, bool BATCHED>
__device__ __forceinline__ void merge_splits(const AttentionDecodeParams& p, int s, int kvh, int G,
                                             float (*w)[kMaxDecodeSplits], float* l_sum) {
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int n = decode_splits_used(p.ctx_len[s], p.num_splits);
  for (int g = warp; g < G; g += kWarps) {
    const int64_t base = decode_partial_index(p, s, kvh * G + g, 0);
    float m0 = -INFINITY, l0 = 0.f, m1 = -INFINITY, l1 = 0.f;
    if (lane < n) m0 = __ldcg(p.part_ml + (base + lane) * 2), l0 = __ldcg(p.part_ml + (base + lane) * 2 + 1);
    if (lane + 32 < n)
      m1 = __ldcg(p.part_ml + (base + lane + 32) * 2), l1 = __ldcg(p.part_ml + (base + lane + 32) * 2 + 1);
    const float m = warp_max(fmaxf(m0, m1));
    const float w0 = m0 == -INFINITY ? 0.f : exp2f(m0 - m);  // a split that saw no key weighs nothing
    const float w1 = m1 == -INFINITY ? 0.f : exp2f(m1 - m);
    const float lg = warp_sum(l0 * w0) + warp_sum(l1 * w1);
    if (lane < n) w[g][lane] = w0;
    if (lane + 32 < n) w[g][lane + 32] = w1;
    if (lane == 0) l_sum[g] = lg;
  }
  __syncthreads();
  constexpr int Q = D / 4;  // float4 columns per head
  for (int idx = tid; idx < G * Q; idx += kThreads) {
    const int g = idx / Q, d = (idx % Q) * 4;
    const float4* src =
        reinterpret_cast<const float4*>(p.part_acc + decode_partial_index(p, s, kvh * G + g, 0) * D + d);
    float4 o = make_float4(0.f, 0.f, 0.f, 0.f);
    auto add = [&](const float4& a, int i) {
      const float wi = w[g][i];
      o.x += a.x * wi, o.y += a.y * wi, o.z += a.z * wi, o.w += a.w * wi;
    };
    if constexpr (BATCHED) {
      constexpr int B = 16;
      for (int i0 = 0; i0 < n; i0 += B) {
        float4 a[B];
#pragma unroll
        for (int j = 0; j < B; ++j)
          if (i0 + j < n) a[j] = __ldcg(src + int64_t(i0 + j) * Q);
#pragma unroll
        for (int j = 0; j < B; ++j) {
          if (i0 + j >= n) break;
          add(a[j], i0 + j);
        }
      }
    } else {
#pragma unroll 16
      for (int i = 0; i < n; ++i) add(__ldcg(src + int64_t(i) * Q), i);
    }
    const float lg = l_sum[g];
    auto div = [lg](float x) { return lg > 0.f ? x / lg : 0.f; };
    __nv_bfloat162 r[2] = {__floats2bfloat162_rn(div(o.x), div(o.y)), __floats2bfloat162_rn(div(o.z), div(o.w))};
    *reinterpret_cast<uint2*>(p.out + int64_t(s) * p.out_stride + (kvh * G + g) * D + d) =
        *reinterpret_cast<const uint2*>(r);
  }
}

// Mode kCombine, after the block published its partial: count it, and let the last split block of
// this (sequence, kv head) merge all of them; it resets the counter for the next launch. last: a
// shared flag.
template <int D, int MAXG>
__device__ __forceinline__ void merge_splits_if_last(const AttentionDecodeParams& p, int s, int kvh, int G,
                                                     float (*w)[kMaxDecodeSplits], float* l_sum, int& last) {
  __threadfence();
  __syncthreads();
  int32_t* counter = p.counters + s * p.num_kv_heads + kvh;
  if (threadIdx.x == 0) last = atomicAdd(counter, 1) == p.num_splits - 1;
  __syncthreads();
  timeline_mark(2);  // published and counted
  if (!last) return;
  __threadfence();
  merge_splits<D, MAXG, false>(p, s, kvh, G, w, l_sum);
  if (threadIdx.x == 0) *counter = 0;
}


// ld: row pitch in elements (16 bytes of padding keep ldmatrix conflict-free). The warps' O for the
// block merge reuses the K/V rows once every warp is done with them.
template <int D, int MAXG>
struct SplitShape {
  static constexpr int ld = D + 8;
  static constexpr int kv_elems = kRound * ld;  // one of K, V
  static_assert(kWarps * MAXG * D * 4 <= 2 * kv_elems * 2, "the warps' O must fit in the K/V rows");
};

template <int D, int MAXG, int MODE>
__global__ void __launch_bounds__(kThreads, 5) attention_decode_split_kernel(const AttentionDecodeParams p) {
  using C = SplitShape<D, MAXG>;
  constexpr bool STAGE = MODE >= kPrefetch, ROPE = MODE >= kRope, COMBINE = MODE == kCombine;
  constexpr int LD = C::ld, PIECES = D / 8, NH = MAXG > 8 ? 2 : 1;  // NH: 8-head column blocks of O^T
  __shared__ __align__(16) bf16 sQ[16 * LD];
  __shared__ __align__(16) bf16 sKV[2 * C::kv_elems];  // K rows, then V rows; later the warps' O
  __shared__ __align__(16) bf16 sKnew[ROPE ? D : 8], sVnew[ROPE ? D : 8];  // the new token's rotated k, its v
  __shared__ float sM[kWarps][MAXG], sL[kWarps][MAXG];
  __shared__ float sW[MAXG][kMaxDecodeSplits], sLsum[MAXG];
  __shared__ int sLast;
  bf16* sK = sKV;
  bf16* sV = sKV + C::kv_elems;

  const PdlScope pdl(TimelineTag::kAttention);
  const int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const SplitRange range(p, s, split);
  const int ctx = range.ctx, start = range.start, end = range.end;
  const int32_t* bt = p.block_tables + int64_t(s) * (*p.bt_stride);
  // The new token (position ctx - 1) when this split holds it and this kernel rotates it, else -1.
  const int fresh = ROPE && end == ctx ? ctx - 1 : -1;
  const int round0 = min(kRound, (end - start + kTile - 1) / kTile * kTile);  // whole tiles of the first round

  // K/V rows [row0, row0 + rows) of the round whose first key is `base`, for `which` (1 K, 2 V, 3 both),
  // shared by `stride` threads of which this is number t: keys past the split zero-filled (P is 0 there,
  // and 0 times stale shared memory could be NaN), the fresh key from sKnew / sVnew, keys `want` picks
  // from the cache by cp.async (the caller commits).
  auto copy_rows = [&](int base, int row0, int rows, int which, int t, int stride, auto want) {
    for (int idx = t; idx < rows * PIECES; idx += stride) {
      const int r = row0 + idx / PIECES, c = (idx % PIECES) * 8, j = base + r;
      bf16* k_dst = sK + r * LD + c;
      bf16* v_dst = sV + r * LD + c;
      if (j >= end) {
        if (which & 1) cp_async16(smem_u32(k_dst), p.k_cache, false);
        if (which & 2) cp_async16(smem_u32(v_dst), p.v_cache, false);
      } else if (!want(j)) {
      } else if (ROPE && j == fresh) {
        if (which & 1) *reinterpret_cast<uint4*>(k_dst) = *reinterpret_cast<const uint4*>(sKnew + c);
        if (which & 2) *reinterpret_cast<uint4*>(v_dst) = *reinterpret_cast<const uint4*>(sVnew + c);
      } else {
        const int64_t off = paged_kv_offset(bt, j, p.block_size, p.num_kv_heads, kvh, D) + c;
        if (which & 1) cp_async16(smem_u32(k_dst), p.k_cache + off);
        if (which & 2) cp_async16(smem_u32(v_dst), p.v_cache + off);
      }
    }
  };
  // Before the wait: the first round's keys older than the new token (this step's K/V is written by
  // the RoPE kernel before this one, or by this kernel).
  if constexpr (STAGE) {
    copy_rows(start, 0, round0, 3, tid, kThreads, [&](int j) { return j < ctx - 1; });
    cp_async_commit();
  }
  pdl_wait();
  const int G = p.num_heads / p.num_kv_heads;
  if (start >= end) {  // past decode_splits_used(): nothing to publish, but counted
    if constexpr (COMBINE) merge_splits_if_last<D, MAXG>(p, s, kvh, G, sW, sLsum, sLast);
    return;
  }
  if constexpr (STAGE) {
    if (!ROPE) copy_rows(start, 0, round0, 3, tid, kThreads, [&](int j) { return j == ctx - 1; });
  } else {
    copy_rows(start, 0, round0, 3, tid, kThreads, [&](int j) { return j != fresh; });
  }
  cp_async_commit();

  // The group's q (rotated at MODE >= kRope: rope_lo / rope_hi round to bf16, so bf16 holds it
  // exactly) as the 16 rows of S's A operand, rows past the group zero; one 8-dim piece a thread.
  const bf16* qrow = p.q + int64_t(s) * p.q_stride;
  for (int piece = tid; piece < 16 * PIECES; piece += kThreads) {
    const int h = piece / PIECES, dd = (piece % PIECES) * 8;
    float v[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = 0.f;
    if (h < G) {
      const Rope8 rot(dd, p.cos_sin + int64_t(s) * (p.rotary_dim / 2), ROPE ? p.rotary_dim : 0);
      const bf16* head = qrow + (kvh * G + h) * D;
      const uint4 raw = *reinterpret_cast<const uint4*>(head + dd);  // both loads in flight together
      uint4 praw = raw;
      if (ROPE && rot.partner >= 0) praw = *reinterpret_cast<const uint4*>(head + rot.partner);
      unpack8(raw, v);
      if (ROPE && rot.partner >= 0) {
        float y[8];
        unpack8(praw, y);
        rot.rotate(y, v);
      }
    }
    store8(sQ + h * LD + dd, v);
  }
  if (fresh >= 0 && tid < PIECES) {  // the new token: rotate its k, store its K/V in the cache
    const int d0 = tid * 8;
    const Rope8 rot(d0, p.cos_sin + int64_t(s) * (p.rotary_dim / 2), p.rotary_dim);
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
    const uint4 krot = *reinterpret_cast<const uint4*>(sKnew + d0);
    if (fresh - start < kRound) {  // in the first round: its row too
      *reinterpret_cast<uint4*>(sK + (fresh - start) * LD + d0) = krot;
      *reinterpret_cast<uint4*>(sV + (fresh - start) * LD + d0) = vraw;
    }
    if (slot >= 0) {
      const int64_t off = (int64_t(slot) * p.num_kv_heads + kvh) * D + d0;
      *reinterpret_cast<uint4*>(p.k_store + off) = krot;
      *reinterpret_cast<uint4*>(p.v_store + off) = vraw;
    }
  }
  cp_async_wait<0>();
  __syncthreads();
  timeline_mark(0);  // K/V staged, q (rotated) in shared memory

  // This warp's tiles: t = warp, warp + 4, ... of the split; tile t's rows are [16 warp, 16 warp + 16)
  // of round t / 4. Lane = 4 g + t4 holds S rows (heads) g and g + 8 for keys 2 t4, 2 t4 + 1 of each
  // 8-key half, and O^T rows (dims) g, g + 8 of each 16-dim block for heads 2 t4, 2 t4 + 1 (+ 8).
  const int tiles = (end - start + kTile - 1) / kTile;
  const float scale_log2 = p.scale * 1.4426950408889634f;
  const int wrow = warp * kTile;
  float o[D / 16][NH][4];
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt)
#pragma unroll
    for (int hn = 0; hn < NH; ++hn)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[mt][hn][e] = 0.f;
  float m_run[NH], l_run[NH];
#pragma unroll
  for (int hn = 0; hn < NH; ++hn) m_run[hn] = -INFINITY, l_run[hn] = 0.f;
  const uint32_t q_addr = smem_u32(sQ + ((lane % 8) + ((lane / 8) % 2) * 8) * LD + (lane / 16) * 8);
  const uint32_t k_addr = smem_u32(sK + (wrow + (lane / 16) * 8 + lane % 8) * LD + ((lane / 8) % 2) * 8);
  const uint32_t v_addr = smem_u32(sV + (wrow + (lane / 16) * 8 + lane % 8) * LD + ((lane / 8) % 2) * 8);
  auto all = [](int) { return true; };

  for (int t = warp; t < tiles; t += kWarps) {
    const int kb = start + t * kTile;
    const bool next = t + kWarps < tiles;
    const int next_base = start + (t + kWarps) / kWarps * kRound;
    if (t >= kWarps) {  // a later round: K was requested after the previous tile's S
      cp_async_wait<1>();
      __syncwarp();
    }
    float sc[2][4];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) sc[nt][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t qa[4], kf[4];
      ldsm_x4(q_addr + kk * 32, qa);
      ldsm_x4(k_addr + kk * 32, kf);
      mma_bf16(sc[0], qa, kf[0], kf[1]);
      mma_bf16(sc[1], qa, kf[2], kf[3]);
    }
    if (next) {  // this warp's K rows are free: the next tile's K streams during softmax and P.V
      __syncwarp();
      copy_rows(next_base, wrow, kTile, 1, lane, 32, all);
    }
    cp_async_commit();

    // Online softmax of the rows (heads) in the log2 domain; a row's four lanes share its max.
    float alpha[NH];
#pragma unroll
    for (int hn = 0; hn < NH; ++hn) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int j = kb + nt * 8 + 2 * t4 + c;
          const float v = j < end ? sc[nt][2 * hn + c] * scale_log2 : -INFINITY;
          sc[nt][2 * hn + c] = v;
          mx = fmaxf(mx, v);
        }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m_run[hn], mx);  // finite: the tile holds at least one key
      alpha[hn] = exp2f(m_run[hn] - m_new);
      m_run[hn] = m_new;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float e = exp2f(sc[nt][2 * hn + c] - m_new);
          sc[nt][2 * hn + c] = e;
          sum += e;
        }
      l_run[hn] = l_run[hn] * alpha[hn] + sum;  // this lane's keys; the row's four lanes are summed at the end
    }
    // P^T as the B operand: S's accumulators of keys 0-7 and 8-15 are b0 and b1 as they stand, P split
    // into a bf16 head and the bf16 of what it leaves (16 bits of P, two products) so that P.V keeps
    // about the precision of fp32 weights. O^T's columns are heads 2 t4, 2 t4 + 1: their rescale
    // factors come from the lanes that hold those rows.
    uint32_t pb[NH][2][2];  // [head block][hi, lo][b0, b1]
    float a_col[NH][2];
#pragma unroll
    for (int hn = 0; hn < NH; ++hn) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
        const float p0 = sc[nt][2 * hn], p1 = sc[nt][2 * hn + 1];
        pb[hn][0][nt] = pack_bf16(p0, p1);
        pb[hn][1][nt] = pack_bf16(p0 - round_bf16(p0), p1 - round_bf16(p1));
      }
#pragma unroll
      for (int c = 0; c < 2; ++c) a_col[hn][c] = __shfl_sync(0xffffffffu, alpha[hn], (2 * t4 + c) * 4);
    }
    if (t >= kWarps) {  // V was requested after the previous tile's P.V
      if (next) cp_async_wait<1>(); else cp_async_wait<0>();
      __syncwarp();
    }
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) {
      uint32_t va[4];
      ldsm_x4_trans(v_addr + mt * 32, va);
#pragma unroll
      for (int hn = 0; hn < NH; ++hn) {
#pragma unroll
        for (int e = 0; e < 4; ++e) o[mt][hn][e] *= a_col[hn][e & 1];
        mma_bf16(o[mt][hn], va, pb[hn][1][0], pb[hn][1][1]);
        mma_bf16(o[mt][hn], va, pb[hn][0][0], pb[hn][0][1]);
      }
    }
    if (next) {  // this warp's V rows are free
      __syncwarp();
      copy_rows(next_base, wrow, kTile, 2, lane, 32, all);
    }
    cp_async_commit();
  }
  cp_async_wait<0>();
#pragma unroll
  for (int hn = 0; hn < NH; ++hn) {
    l_run[hn] += __shfl_xor_sync(0xffffffffu, l_run[hn], 1);
    l_run[hn] += __shfl_xor_sync(0xffffffffu, l_run[hn], 2);
  }

  // Merge the four warps (a warp without tiles weighs nothing) into the split's partial: unnormalised
  // sums relative to the split's max, and the split's (max, sum), as the merges read them.
  __syncthreads();  // every warp is done with the K/V rows: they take the warps' O
  float* sO = reinterpret_cast<float*>(sKV);  // [kWarps][MAXG][D]
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt)
#pragma unroll
    for (int hn = 0; hn < NH; ++hn)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int h = hn * 8 + 2 * t4 + (e & 1), d = mt * 16 + g + 8 * (e / 2);
        if (h < G) sO[(warp * MAXG + h) * D + d] = o[mt][hn][e];
      }
  if (t4 == 0) {
#pragma unroll
    for (int hn = 0; hn < NH; ++hn) {
      if (g + 8 * hn < G) {
        sM[warp][g + 8 * hn] = m_run[hn];
        sL[warp][g + 8 * hn] = l_run[hn];
      }
    }
  }
  __syncthreads();
  timeline_mark(1);  // Q.K, softmax, P.V done
  for (int idx = tid; idx < G * D; idx += kThreads) {
    const int h = idx / D, d = idx % D;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) m = fmaxf(m, sM[w][h]);
    float acc = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
      if (sM[w][h] != -INFINITY) acc += exp2f(sM[w][h] - m) * sO[(w * MAXG + h) * D + d];
    p.part_acc[decode_partial_index(p, s, kvh * G + h, split) * D + d] = acc;
  }
  if (tid < G) {
    float m = -INFINITY, l = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) m = fmaxf(m, sM[w][tid]);
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
      if (sM[w][tid] != -INFINITY) l += exp2f(sM[w][tid] - m) * sL[w][tid];
    p.part_ml[decode_partial_index(p, s, kvh * G + tid, split) * 2] = m;
    p.part_ml[decode_partial_index(p, s, kvh * G + tid, split) * 2 + 1] = l;
  }
  if constexpr (COMBINE) merge_splits_if_last<D, MAXG>(p, s, kvh, G, sW, sLsum, sLast);
}

// Dynamic shared memory that makes a block's footprint a whole share of the multiprocessor's shared
// memory at the occupancy its registers allow (5 blocks): measured on an H100 at batch 1, with ~4 KB
// or more left free beside 5 resident blocks the skinny products after attention ran 2-11 us a layer
// slower (their blocks' ends spread over twice the time; o_proj 13.1 against 10.5-11.3 us, down 51
// against 40-42), the step 6.07 / 6.01 ms at 1k / 4k against 5.56 / 5.65 with the footprint filled
// (docs/PERFORMANCE.md). Once per thread and device.
template <int D, int MAXG, int MODE>
size_t footprint_pad() {
  static thread_local int device = -1;  // per instantiation: each has its own static shared memory
  static thread_local size_t pad = 0;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev == device) return pad;
  const auto kernel = attention_decode_split_kernel<D, MAXG, MODE>;
  cudaFuncAttributes attr{};
  CUDA_CHECK(cudaFuncGetAttributes(&attr, kernel));
  int per_sm = 0, reserved = 0, blocks = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&reserved, cudaDevAttrReservedSharedMemoryPerBlock, dev));
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, kThreads, 0));
  const long share = blocks > 0 ? per_sm / blocks - reserved - long(attr.sharedSizeBytes) : 0;
  // Without opting in, static + dynamic shared memory stays within 48 KB.
  pad = size_t(std::clamp(share, 0L, long(48 * 1024) - long(attr.sharedSizeBytes)));
  device = dev;
  return pad;
}

template <int D, int MAXG, int MODE>
void launch_mode(const AttentionDecodeParams& p, cudaStream_t stream) {
  launch_pdl(attention_decode_split_kernel<D, MAXG, MODE>, dim3(p.num_seqs, p.num_kv_heads, p.num_splits), kThreads,
             footprint_pad<D, MAXG, MODE>(), stream, p);
  CUDA_CHECK_LAUNCH();
}

// Modes below kCombine: one block per (sequence, kv head) merges the splits after the split kernel.
template <int D, int MAXG>
__global__ void __launch_bounds__(kThreads) attention_decode_combine_kernel(const AttentionDecodeParams p) {
  const PdlScope pdl(TimelineTag::kAttentionCombine);
  __shared__ float sW[MAXG][kMaxDecodeSplits], sLsum[MAXG];
  pdl_wait();
  merge_splits<D, MAXG, true>(p, blockIdx.x, blockIdx.y, p.num_heads / p.num_kv_heads, sW, sLsum);
}

template <int D, int MAXG>
void launch(const AttentionDecodeParams& p, cudaStream_t stream) {
  switch (p.mode) {
    case DecodeAttentionMode::kPlain: launch_mode<D, MAXG, kPlain>(p, stream); break;
    case DecodeAttentionMode::kPrefetch: launch_mode<D, MAXG, kPrefetch>(p, stream); break;
    case DecodeAttentionMode::kRope: launch_mode<D, MAXG, kRope>(p, stream); break;
    case DecodeAttentionMode::kCombine: return launch_mode<D, MAXG, kCombine>(p, stream);  // merged by its blocks
  }
  launch_pdl(attention_decode_combine_kernel<D, MAXG>, dim3(p.num_seqs, p.num_kv_heads), kThreads, 0, stream, p);
  CUDA_CHECK_LAUNCH();
}

template <int D>
void launch_group(const AttentionDecodeParams& p, cudaStream_t stream) {
  const int g = p.num_heads / p.num_kv_heads;
  if (g <= 4) return launch<D, 4>(p, stream);
  if (g <= 8) return launch<D, 8>(p, stream);
  return launch<D, 16>(p, stream);
}

}  // namespace

int decode_splits(int num_seqs, int num_kv_heads, int num_sms, int waves) {
  const int blocks = num_seqs * num_kv_heads;
  // At most 4 blocks a multiprocessor (the split kernel holds 5): measured on an H100 against rounding
  // up, batch 8 at 4k context 8.05-8.08 against 8.74 ms, batch 4 7.15-7.17 against 7.68 (docs/PERFORMANCE.md).
  if (waves <= 0) waves = 4;
  int splits = waves * num_sms / blocks;
  return splits < 1 ? 1 : (splits > kMaxDecodeSplits ? kMaxDecodeSplits : splits);
}

void attention_decode(const AttentionDecodeParams& p, cudaStream_t stream) {
  if (p.num_seqs == 0) return;
  if (p.num_splits < 1 || p.num_splits > kMaxDecodeSplits)
    throw std::invalid_argument("attention_decode: num_splits " + std::to_string(p.num_splits) + " not in 1.." +
                                std::to_string(kMaxDecodeSplits));
  if (p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0)
    throw std::invalid_argument("attention: num_heads % num_kv_heads != 0");
  if (p.num_heads / p.num_kv_heads > 16)
    throw std::invalid_argument("attention_decode: more than 16 query heads per kv head");
  if (p.head_dim != 64 && p.head_dim != 128)
    throw std::invalid_argument("attention_decode: head_dim " + std::to_string(p.head_dim) +
                                " is not supported (64 or 128)");
  if (p.mode >= DecodeAttentionMode::kRope &&
      (p.rotary_dim <= 0 || p.rotary_dim % 16 != 0 || p.rotary_dim > p.head_dim || p.cos_sin == nullptr ||
       p.slots == nullptr || p.k_store == nullptr || p.v_store == nullptr))
    throw std::invalid_argument("attention_decode: RoPE in the split kernel needs rotary_dim % 16 == 0 (<= head_dim), "
                                "the cos/sin table, slots and the writable cache");
  if (p.mode == DecodeAttentionMode::kCombine && p.counters == nullptr)
    throw std::invalid_argument("attention_decode: merging in the split kernel needs the counters");
  if (p.head_dim == 64) return launch_group<64>(p, stream);
  launch_group<128>(p, stream);
}

}  // namespace dynamo::gpu
