// Sampling kernel: one 1024-thread block per sequence. Thresholds for top-k and top-p come from a
// bisection over the bit patterns of positive floats (exact, 31 block reductions each), so no sort
// of the vocabulary is needed.
#include <climits>

#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/sampling.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;

__device__ uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Same function as core/sampling/sampling_uniform.cpp.
__device__ double sampling_uniform_device(uint64_t seed, uint64_t index) {
  const uint64_t bits = splitmix64(splitmix64(seed) ^ (index * 0xd1b54a32d192ed03ull));
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

// Every thread gets the block's sum; sh holds kWarps floats.
__device__ float block_sum(float v, float* sh) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_sum(v);
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  v = warp_sum(lane < kWarps ? sh[lane] : 0.f);
  __syncthreads();
  return v;
}

__device__ float block_max(float v, float* sh) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_max(v);
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  v = warp_max(lane < kWarps ? sh[lane] : -INFINITY);
  __syncthreads();
  return v;
}

__device__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

// Arg-max with ties to the lowest index; NaN counts as -inf. excluded: sorted? no, a short list.
__device__ int block_argmax(const float* x, int n, const int* excluded, int num_excluded, float* shv, int* shi) {
  float bv = -INFINITY;
  int bi = INT_MAX;
  for (int i = threadIdx.x; i < n; i += kThreads) {
    float v = x[i];
    if (v != v) v = -INFINITY;
    bool skip = false;
    for (int e = 0; e < num_excluded; ++e) skip |= excluded[e] == i;
    if (!skip && better(v, i, bv, bi)) bv = v, bi = i;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, bv, bi)) bv = ov, bi = oi;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) shv[warp] = bv, shi[warp] = bi;
  __syncthreads();
  bv = lane < kWarps ? shv[lane] : -INFINITY;
  bi = lane < kWarps ? shi[lane] : INT_MAX;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, bv, bi)) bv = ov, bi = oi;
  }
  __syncthreads();
  return bi == INT_MAX ? 0 : bi;  // all excluded or NaN-only rows fall back to token 0
}

// Largest positive float t (searched over bit patterns in [0, bits(1.0)]) with pred(t) true;
// pred(0) must hold and pred must be monotone (true below, false above).
template <typename Pred>
__device__ float bisect_threshold(Pred pred) {
  uint32_t lo = 0, hi = 0x3f800001u;  // pred(lo) true; hi is above 1.0 = p_max, assumed false
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (pred(__uint_as_float(mid))) lo = mid; else hi = mid;
  }
  return __uint_as_float(lo);
}

// log(sum_i exp(row[i])) given the row's max (NaN counted as -inf): the log-softmax normaliser.
__device__ float log_normaliser(const float* row, int vocab, float row_max, float* shf) {
  float z = 0.f;
  for (int i = threadIdx.x; i < vocab; i += kThreads) z += __expf(row[i] - row_max);
  return row_max + logf(block_sum(z, shf));
}

__global__ void __launch_bounds__(kThreads)
    sample_tokens_kernel(const float* logits, int vocab, const SampleSpec* specs, const LogitAdjust* adjust,
                         float* work, SampleOut* out) {
  __shared__ float shf[kWarps];
  __shared__ int shi[kWarps];
  __shared__ int chosen, last_kept;
  __shared__ int top[kMaxTopLogprobs];
  const SampleSpec sp = specs[blockIdx.x];
  const float* raw = logits + int64_t(sp.row) * vocab;
  if (sp.temperature <= 0.f && sp.adjust_count == 0 && sp.num_top == 0) {
    // Plain greedy: the arg-max of the raw row gives the token and the normaliser's max (the same
    // value block_max finds, NaN counting as -inf), so the row is read twice instead of five times;
    // the results are those of the general path, bit for bit.
    const int token = block_argmax(raw, vocab, nullptr, 0, shf, shi);
    const float top = raw[token];
    const float raw_lse = log_normaliser(raw, vocab, top != top ? -INFINITY : top, shf);
    if (threadIdx.x == 0) {
      out[blockIdx.x].token = token;
      out[blockIdx.x].logprob = top - raw_lse;
    }
    return;
  }
  float* w = work + int64_t(blockIdx.x) * vocab;
  for (int i = threadIdx.x; i < vocab; i += kThreads) w[i] = raw[i];
  __syncthreads();
  for (int a = threadIdx.x; a < sp.adjust_count; a += kThreads) {
    const LogitAdjust adj = adjust[sp.adjust_begin + a];
    float x = w[adj.token] + adj.add;
    if (adj.mask) x = -INFINITY;
    if (adj.rep != 1.f) x = x > 0.f ? x / adj.rep : x * adj.rep;
    w[adj.token] = x - adj.sub;
  }
  __syncthreads();

  // Raw log-softmax normaliser.
  float m = -INFINITY;
  for (int i = threadIdx.x; i < vocab; i += kThreads) m = fmaxf(m, raw[i]);
  const float raw_lse = log_normaliser(raw, vocab, block_max(m, shf), shf);

  int token;
  if (sp.temperature <= 0.f) {
    token = block_argmax(w, vocab, nullptr, 0, shf, shi);
  } else {
    m = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += kThreads) m = fmaxf(m, w[i]);
    const float wmax = block_max(m, shf);
    const float inv_t = 1.f / sp.temperature;
    float z = 0.f;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
      const float e = expf((w[i] - wmax) * inv_t);  // in (0, 1], max exactly 1; -inf -> 0
      w[i] = e;
      z += e;
    }
    const float total = block_sum(z, shf);  // also orders the writes above before the reads below
    float thr = 0.f;
    if (sp.top_k > 0 && sp.top_k < vocab) {
      thr = bisect_threshold([&](float t) {
        float c = 0.f;
        for (int i = threadIdx.x; i < vocab; i += kThreads) c += w[i] >= t ? 1.f : 0.f;
        return block_sum(c, shf) >= float(sp.top_k);
      });
    }
    if (sp.top_p < 1.f) {  // over the distribution renormalised to the top-k survivors
      float kept = total;
      if (thr > 0.f) {
        float c = 0.f;
        for (int i = threadIdx.x; i < vocab; i += kThreads) c += w[i] >= thr ? w[i] : 0.f;
        kept = block_sum(c, shf);
      }
      const float target = sp.top_p * kept, floor_k = thr;
      thr = fmaxf(thr, bisect_threshold([&](float t) {
                    const float cut = fmaxf(t, floor_k);
                    float c = 0.f;
                    for (int i = threadIdx.x; i < vocab; i += kThreads) c += w[i] >= cut ? w[i] : 0.f;
                    return block_sum(c, shf) >= target;
                  }));
    }
    if (sp.min_p > 0.f) thr = fmaxf(thr, sp.min_p);
    // Inverse CDF over the kept tokens in vocabulary order: each thread owns a contiguous range.
    const int chunk = (vocab + kThreads - 1) / kThreads;
    const int b = min(vocab, int(threadIdx.x) * chunk), e = min(vocab, b + chunk);
    float local = 0.f;
    int mine_last = -1;
    for (int i = b; i < e; ++i)
      if (w[i] >= thr && w[i] > 0.f) local += w[i], mine_last = i;
    // Exclusive scan of `local` over the block.
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    float incl = local;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const float y = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += y;
    }
    if (lane == 31) shf[warp] = incl;
    if (threadIdx.x == 0) chosen = INT_MAX, last_kept = -1;
    __syncthreads();
    float wsum = lane < kWarps ? shf[lane] : 0.f;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const float y = __shfl_up_sync(0xffffffffu, wsum, o);
      if (lane >= o) wsum += y;
    }
    const float warp_prefix = __shfl_sync(0xffffffffu, wsum, (warp + 31) % 32);
    const float kept_total = __shfl_sync(0xffffffffu, wsum, kWarps - 1);
    const float excl = (warp > 0 ? warp_prefix : 0.f) + incl - local;
    const float target = float(sampling_uniform_device(sp.seed, sp.draw_index)) * kept_total;
    if (mine_last >= 0) atomicMax(&last_kept, mine_last);
    if (local > 0.f && excl <= target && target < excl + local) {
      float cum = excl;
      int pick = mine_last;
      for (int i = b; i < e; ++i) {
        if (w[i] >= thr && w[i] > 0.f) {
          cum += w[i];
          if (cum > target) {
            pick = i;
            break;
          }
        }
      }
      atomicMin(&chosen, pick);
    }
    __syncthreads();
    token = chosen != INT_MAX ? chosen : (last_kept >= 0 ? last_kept : 0);
    __syncthreads();
  }

  const int n_top = min(sp.num_top, kMaxTopLogprobs);
  for (int k = 0; k < n_top; ++k) {
    const int t = block_argmax(raw, vocab, top, k, shf, shi);
    if (threadIdx.x == 0) top[k] = t;
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    SampleOut& o = out[blockIdx.x];
    o.token = token;
    o.logprob = raw[token] - raw_lse;
    for (int k = 0; k < n_top; ++k) {
      o.top_tokens[k] = top[k];
      o.top_logprobs[k] = raw[top[k]] - raw_lse;
    }
  }
}

}  // namespace

void sample_tokens(const float* logits, int vocab, const SampleSpec* specs, const LogitAdjust* adjust, float* work,
                   SampleOut* out, int n, cudaStream_t stream) {
  if (n == 0) return;
  sample_tokens_kernel<<<n, kThreads, 0, stream>>>(logits, vocab, specs, adjust, work, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
