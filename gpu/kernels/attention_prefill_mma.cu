// FlashAttention-2-style prefill attention kernel (see attention_prefill_mma.cuh): S, P and O live in
// registers as mma.sync m16n8k16 fragments; K/V tiles are gathered through the block table by cp.async.
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_prefill_mma.cuh"
#include "gpu/kernels/device_utils.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kBM = kPrefillTileRows;  // query rows per CTA (the executor's work items), 16 per warp
constexpr int kBN = 64;                // keys per K/V tile
constexpr int kWarps = kBM / 16;
constexpr int kThreads = kWarps * 32;

template <int D>
struct Layout {
  static constexpr int ld = D + 8;  // row pitch in elements: 16 bytes of padding keep ldmatrix conflict-free
  static constexpr int q_elems = kBM * ld, kv_elems = kBN * ld;
  static constexpr size_t bytes = size_t(q_elems + 4 * kv_elems) * 2;  // Q, then K x 2 stages, V x 2 stages
};

__device__ __forceinline__ uint32_t smem_u32(const void* ptr) { return uint32_t(__cvta_generic_to_shared(ptr)); }

// 16-byte asynchronous copy; with valid == false nothing is read and the destination is zero-filled.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// c (16x8) += a (16x16, row-major) * b (16x8, col-major); bf16 operands, fp32 accumulate.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Fragment ownership (PTX m16n8k16): lane = 4 g + t4 holds rows g and g + 8 of its warp's 16 rows and,
// in each 8-column block, columns 2 t4 and 2 t4 + 1. s[nb][e] / o[db][e]: e = 2 * (row half) + column.
template <int D>
__global__ void __launch_bounds__(kThreads, 2) attention_prefill_mma_kernel(const AttentionPrefillParams p) {
  using L = Layout<D>;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* sQ = reinterpret_cast<bf16*>(smem);
  bf16* sK = sQ + L::q_elems;       // [2][kBN][ld]
  bf16* sV = sK + 2 * L::kv_elems;  // [2][kBN][ld]

  const int head = blockIdx.x;
  const int item = p.num_work - 1 - int(blockIdx.y);  // the longest (last) tiles of a prompt start first
  const int seq = p.work[2 * item], tile = p.work[2 * item + 1];
  const int kvh = head / (p.num_heads / p.num_kv_heads);
  const int qs = p.q_start[seq], nc = p.num_cached[seq];
  const int rows = min(kBM, p.q_len[seq] - tile);
  const int q0 = nc + tile;       // position of the tile's first query row
  const int kv_end = q0 + rows;   // keys [0, kv_end) exist (cached prefix + new tokens so far)
  const int32_t* bt = p.block_tables + int64_t(seq) * p.bt_stride;
  const int bs = p.block_size, nkv = p.num_kv_heads;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t4 = lane % 4;

  for (int idx = tid; idx < kBM * kChunks; idx += kThreads) {  // rows past the end are zero-filled
    const int r = idx / kChunks, c = (idx % kChunks) * 8;
    const bf16* src = p.q + int64_t(qs + tile + min(r, rows - 1)) * p.q_stride + head * D + c;
    cp_async16(smem_u32(sQ + r * L::ld + c), src, r < rows);
  }
  auto load_kv = [&](int kb, int stage) {  // keys at or past kv_end are zero-filled (P there is 0)
    bf16* k_dst = sK + stage * L::kv_elems;
    bf16* v_dst = sV + stage * L::kv_elems;
    for (int idx = tid; idx < kBN * kChunks; idx += kThreads) {
      const int r = idx / kChunks, c = (idx % kChunks) * 8;
      const int j = kb + r;
      const bool ok = j < kv_end;
      int64_t off = 0;
      if (ok) off = ((int64_t(bt[j / bs]) * bs + j % bs) * nkv + kvh) * D + c;
      cp_async16(smem_u32(k_dst + r * L::ld + c), p.k_cache + off, ok);
      cp_async16(smem_u32(v_dst + r * L::ld + c), p.v_cache + off, ok);
    }
  };
  load_kv(0, 0);
  cp_async_commit();

  const int n_tiles = (kv_end + kBN - 1) / kBN;
  const int n_full = min(n_tiles, (q0 + 1) / kBN);  // tiles whose every key is <= every row's position
  const float scale_log2 = p.scale * 1.4426950408889634f;
  const int row0 = q0 + warp * 16 + g;  // position of this lane's first row; the second is row0 + 8

  uint32_t qf[D / 16][4];
  float o[D / 8][4];
#pragma unroll
  for (int db = 0; db < D / 8; ++db)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[db][e] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for (int t = 0; t < n_tiles; ++t) {
    const int stage = t & 1;
    if (t + 1 < n_tiles) load_kv((t + 1) * kBN, stage ^ 1);
    cp_async_commit();  // possibly empty: keeps "all but the newest group" meaning "tile t is in"
    cp_async_wait<1>();
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const int r = warp * 16 + (lane % 8) + ((lane / 8) % 2) * 8, c = kk * 16 + (lane / 16) * 8;
        ldsm_x4(smem_u32(sQ + r * L::ld + c), qf[kk]);
      }
    }
    const bf16* k_s = sK + stage * L::kv_elems;
    const bf16* v_s = sV + stage * L::kv_elems;

    float s[kBN / 8][4];
#pragma unroll
    for (int nb = 0; nb < kBN / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[nb][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int nb = 0; nb < kBN / 16; ++nb) {
        uint32_t b[4];
        const int key = nb * 16 + (lane % 8) + (lane / 16) * 8, c = kk * 16 + ((lane / 8) % 2) * 8;
        ldsm_x4(smem_u32(k_s + key * L::ld + c), b);
        mma_bf16(s[2 * nb], qf[kk], b[0], b[1]);
        mma_bf16(s[2 * nb + 1], qf[kk], b[2], b[3]);
      }
    }

    // Online softmax in the log2 domain; a row's four lanes share its max through two shuffles.
    const int kb = t * kBN;
    const bool masked = t >= n_full;
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nb = 0; nb < kBN / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float v = s[nb][e] * scale_log2;
        if (masked) {
          const int j = kb + nb * 8 + 2 * t4 + (e & 1), qpos = row0 + 8 * (e / 2);
          if (j > qpos || j >= kv_end) v = -INFINITY;
        }
        s[nb][e] = v;
        mx[e / 2] = fmaxf(mx[e / 2], v);
      }
    }
    float base[2], alpha[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
      const float m_new = fmaxf(m[i], mx[i]);
      base[i] = m_new == -INFINITY ? 0.f : m_new;  // a row with nothing visible yet stays all zero
      alpha[i] = fast_exp2(m[i] - base[i]);
      m[i] = m_new;
      l[i] *= alpha[i];
    }
#pragma unroll
    for (int nb = 0; nb < kBN / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float pv = fast_exp2(s[nb][e] - base[e / 2]);
        s[nb][e] = pv;
        l[e / 2] += pv;  // this lane's columns only; the row's four lanes are summed at the end
      }
    }
#pragma unroll
    for (int db = 0; db < D / 8; ++db)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[db][e] *= alpha[e / 2];

    // O += P V: the S accumulator layout of two adjacent 8-key blocks is the A fragment of 16 keys.
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      const uint32_t a[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                             pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                             pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int db = 0; db < D / 16; ++db) {
        uint32_t b[4];
        const int key = kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8, c = db * 16 + (lane / 16) * 8;
        ldsm_x4_trans(smem_u32(v_s + key * L::ld + c), b);
        mma_bf16(o[2 * db], a, b[0], b[1]);
        mma_bf16(o[2 * db + 1], a, b[2], b[3]);
      }
    }
    __syncthreads();  // the next iteration's prefetch overwrites this stage
  }

  // Normalise and write out through this warp's own 16 rows of the Q tile (16-byte global stores).
  float inv[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
    inv[i] = l[i] > 0.f ? 1.f / l[i] : 0.f;
  }
  bf16* so = sQ + warp * 16 * L::ld;
#pragma unroll
  for (int db = 0; db < D / 8; ++db)
#pragma unroll
    for (int i = 0; i < 2; ++i)
      *reinterpret_cast<__nv_bfloat162*>(so + (g + 8 * i) * L::ld + db * 8 + 2 * t4) =
          __floats2bfloat162_rn(o[db][2 * i] * inv[i], o[db][2 * i + 1] * inv[i]);
  __syncwarp();
  for (int idx = lane; idx < 16 * kChunks; idx += 32) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8, row = warp * 16 + r;
    if (row < rows)
      *reinterpret_cast<uint4*>(p.out + int64_t(qs + tile + row) * p.out_stride + head * D + c) =
          *reinterpret_cast<const uint4*>(so + r * L::ld + c);
  }
}

template <int D>
void launch(const AttentionPrefillParams& p, cudaStream_t stream) {
  constexpr size_t bytes = Layout<D>::bytes;
  static thread_local int configured_device = -1;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (configured_device != dev) {  // the attribute is per device; set it once per thread and device
    CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_mma_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(bytes)));
    configured_device = dev;
  }
  attention_prefill_mma_kernel<D><<<dim3(p.num_heads, p.num_work), kThreads, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void attention_prefill_mma(const AttentionPrefillParams& p, cudaStream_t stream) {
  if (p.num_work == 0) return;
  if (p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0)
    throw std::invalid_argument("attention_prefill: num_heads % num_kv_heads != 0");
  if (p.num_work > 65535) throw std::invalid_argument("attention_prefill: more than 65535 work items");
  switch (p.head_dim) {
    case 64: launch<64>(p, stream); break;
    case 128: launch<128>(p, stream); break;
    default:
      throw std::invalid_argument("attention_prefill: head_dim " + std::to_string(p.head_dim) +
                                  " is not supported (64 or 128)");
  }
}

}  // namespace dynamo::gpu
