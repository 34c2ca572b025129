// Prefill attention: the dispatcher (attention_prefill_mma by default) and the first kernel, 64 query
// rows x one head per block, QK^T and PV on WMMA with an fp32 output tile in shared memory.
#include <mma.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_prefill.cuh"
#include "gpu/kernels/attention_prefill_mma.cuh"
#include "gpu/kernels/device_utils.cuh"

namespace dynamo::gpu {
namespace {

using namespace nvcuda;

constexpr int kBM = kPrefillTileRows;
constexpr int kBN = 64;
constexpr int kThreads = 128;

template <int D>
struct Smem {
  static constexpr int ldq = D + 8, lds = kBN + 4, ldp = kBN + 8, ldo = D + 4;
  static constexpr size_t q = size_t(kBM) * ldq * 2, k = size_t(kBN) * ldq * 2, s = size_t(kBM) * lds * 4,
                          p = size_t(kBM) * ldp * 2, o = size_t(kBM) * ldo * 4;
  static constexpr size_t bytes = q + 2 * k + s + p + o + 3 * kBM * 4;
};

template <int D>
__global__ void __launch_bounds__(kThreads) attention_prefill_kernel(const AttentionPrefillParams p) {
  using S = Smem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* sQ = reinterpret_cast<bf16*>(smem);
  bf16* sK = reinterpret_cast<bf16*>(smem + S::q);
  bf16* sV = reinterpret_cast<bf16*>(smem + S::q + S::k);
  float* sS = reinterpret_cast<float*>(smem + S::q + 2 * S::k);
  bf16* sP = reinterpret_cast<bf16*>(smem + S::q + 2 * S::k + S::s);
  float* sO = reinterpret_cast<float*>(smem + S::q + 2 * S::k + S::s + S::p);
  float* sM = sO + kBM * S::ldo;
  float* sL = sM + kBM;

  const int seq = p.work[2 * blockIdx.x], tile = p.work[2 * blockIdx.x + 1];
  const int head = blockIdx.y;
  const int kvh = head / (p.num_heads / p.num_kv_heads);
  const int qs = p.q_start[seq], nc = p.num_cached[seq];
  const int rows = min(kBM, p.q_len[seq] - tile);
  const int kv_end = nc + tile + rows;
  const int32_t* bt = p.block_tables + int64_t(seq) * p.bt_stride;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  constexpr int kVec = D / 8;

  for (int idx = tid; idx < kBM * kVec; idx += kThreads) {
    const int r = idx / kVec, c = (idx % kVec) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < rows) v = *reinterpret_cast<const uint4*>(p.q + int64_t(qs + tile + r) * p.q_stride + head * D + c);
    *reinterpret_cast<uint4*>(sQ + r * S::ldq + c) = v;
  }
  for (int idx = tid; idx < kBM * D; idx += kThreads) sO[(idx / D) * S::ldo + idx % D] = 0.f;
  if (tid < kBM) {
    sM[tid] = -INFINITY;
    sL[tid] = 0.f;
  }
  __syncthreads();

  const float scale_log2 = p.scale * 1.4426950408889634f;
  for (int kb = 0; kb < kv_end; kb += kBN) {
    for (int idx = tid; idx < kBN * kVec; idx += kThreads) {
      const int r = idx / kVec, c = (idx % kVec) * 8;
      const int j = kb + r;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = kv;
      if (j < kv_end) {
        const int64_t off = paged_kv_offset(bt, j, p.block_size, p.num_kv_heads, kvh, D) + c;
        kv = *reinterpret_cast<const uint4*>(p.k_cache + off);
        vv = *reinterpret_cast<const uint4*>(p.v_cache + off);
      }
      *reinterpret_cast<uint4*>(sK + r * S::ldq + c) = kv;
      *reinterpret_cast<uint4*>(sV + r * S::ldq + c) = vv;
    }
    __syncthreads();

    // S = Q K^T for this warp's 16 rows.
#pragma unroll
    for (int n = 0; n < kBN / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int k = 0; k < D / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b;
        wmma::load_matrix_sync(a, sQ + warp * 16 * S::ldq + k * 16, S::ldq);
        wmma::load_matrix_sync(b, sK + n * 16 * S::ldq + k * 16, S::ldq);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(sS + warp * 16 * S::lds + n * 16, acc, S::lds, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax: lane owns row warp*16 + lane/2 and the columns of parity lane&1 (interleaved
    // so that the two lanes of a row hit different banks); it also rescales that half of its O row.
    {
      const int r = warp * 16 + lane / 2, h = lane & 1;
      const int qpos = nc + tile + r;
      float sv[kBN / 2];
      float mx = -INFINITY;
#pragma unroll
      for (int i = 0; i < kBN / 2; ++i) {
        const int c = h + 2 * i, j = kb + c;
        const float v = (j <= qpos && j < kv_end) ? sS[r * S::lds + c] * scale_log2 : -INFINITY;
        sv[i] = v;
        mx = fmaxf(mx, v);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      const float m_old = sM[r];
      const float m_new = fmaxf(m_old, mx);
      const bool none = m_new == -INFINITY;
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < kBN / 2; ++i) {
        const float pv = none ? 0.f : exp2f(sv[i] - m_new);
        sum += pv;
        sP[r * S::ldp + h + 2 * i] = __float2bfloat16(pv);
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      const float alpha = none ? 1.f : exp2f(m_old - m_new);
      __syncwarp();
      if (h == 0) {
        sM[r] = m_new;
        sL[r] = sL[r] * alpha + sum;
      }
      if (alpha != 1.f) {
#pragma unroll 8
        for (int i = 0; i < D / 2; ++i) sO[r * S::ldo + h + 2 * i] *= alpha;
      }
    }
    __syncwarp();

    // O += P V.
#pragma unroll
    for (int j = 0; j < D / 16; ++j) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, sO + warp * 16 * S::ldo + j * 16, S::ldo, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < kBN / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> b;
        wmma::load_matrix_sync(a, sP + warp * 16 * S::ldp + k * 16, S::ldp);
        wmma::load_matrix_sync(b, sV + k * 16 * S::ldq + j * 16, S::ldq);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(sO + warp * 16 * S::ldo + j * 16, acc, S::ldo, wmma::mem_row_major);
    }
    __syncthreads();
  }

  for (int idx = tid; idx < kBM * kVec; idx += kThreads) {
    const int r = idx / kVec, c = (idx % kVec) * 8;
    if (r >= rows) continue;
    const float inv = sL[r] > 0.f ? 1.f / sL[r] : 0.f;
    float v[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = sO[r * S::ldo + c + i] * inv;
    store8(p.out + int64_t(qs + tile + r) * p.out_stride + head * D + c, v);
  }
}

template <int D>
void launch(const AttentionPrefillParams& p, cudaStream_t stream) {
  constexpr size_t bytes = Smem<D>::bytes;
  static thread_local int configured_device = -1;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (configured_device != dev) {  // the attribute is per device; set it once per thread and device
    CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(bytes)));
    configured_device = dev;
  }
  attention_prefill_kernel<D><<<dim3(p.num_work, p.num_heads), kThreads, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void attention_prefill(const AttentionPrefillParams& p, cudaStream_t stream) {
  // DYNAMO_PREFILL_ATTN=wmma keeps the first kernel selectable for comparison runs.
  static const bool wmma = [] {
    const char* env = std::getenv("DYNAMO_PREFILL_ATTN");
    return env != nullptr && std::strcmp(env, "wmma") == 0;
  }();
  if (wmma) return attention_prefill_wmma(p, stream);
  attention_prefill_mma(p, stream);
}

void attention_prefill_wmma(const AttentionPrefillParams& p, cudaStream_t stream) {
  if (p.num_work == 0) return;
  if (p.num_heads % p.num_kv_heads != 0) throw std::invalid_argument("attention: num_heads % num_kv_heads != 0");
  switch (p.head_dim) {
    case 64: launch<64>(p, stream); break;
    case 128: launch<128>(p, stream); break;
    default:
      throw std::invalid_argument("attention_prefill: head_dim " + std::to_string(p.head_dim) +
                                  " is not supported (64 or 128)");
  }
}

}  // namespace dynamo::gpu
