// FlashAttention-2-style prefill attention kernel (see attention_prefill_mma.cuh): S, P and O live in
// registers as mma.sync m16n8k16 fragments; K/V tiles are gathered through the block table by cp.async.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_prefill_mma.cuh"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/mma_utils.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kBM = kPrefillTileRows;  // query rows per CTA and head (the executor's work items)
constexpr int kBN = 64;                // keys per K/V tile

// MT: 16-row m-tiles per warp (2 reuses each K/V fragment twice); HPC: q heads per CTA (2 share one
// kv head's K/V tiles). Q rows of head h: sQ[h][kBM][ld]; K, V: [2 stages][kBN][ld] each.
template <int D, int MT, int HPC>
struct Config {
  static constexpr int ld = D + 8;  // row pitch in elements: 16 bytes of padding keep ldmatrix conflict-free
  static constexpr int warps_per_head = kBM / (16 * MT), warps = warps_per_head * HPC, threads = 32 * warps;
  static constexpr int q_elems = HPC * kBM * ld, kv_elems = kBN * ld;
  static constexpr size_t bytes = size_t(q_elems + 4 * kv_elems) * 2;
  static constexpr int min_blocks = threads > 128 ? 1 : 2;  // 8 warps get the whole register budget
};

// Fragment ownership (PTX m16n8k16): lane = 4 g + t4 holds rows g and g + 8 of an m-tile's 16 rows and,
// in each 8-column block, columns 2 t4 and 2 t4 + 1. s[mt][nb][e] / o[mt][db][e]: e = 2 * (row half) +
// column. With MT == 1 the Q fragments stay in registers; with MT == 2 they are re-read per tile.
template <int D, int MT, int HPC>
__global__ void __launch_bounds__(Config<D, MT, HPC>::threads, Config<D, MT, HPC>::min_blocks)
    attention_prefill_mma_kernel(const AttentionPrefillParams p) {
  using C = Config<D, MT, HPC>;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  constexpr int kQRegs = MT == 1 ? D / 16 : 1;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* sQ = reinterpret_cast<bf16*>(smem);
  bf16* sK = sQ + C::q_elems;       // [2][kBN][ld]
  bf16* sV = sK + 2 * C::kv_elems;  // [2][kBN][ld]

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t4 = lane % 4;
  const int first_head = blockIdx.x * HPC;
  const int hl = warp / C::warps_per_head;                  // this warp's head within the CTA
  const int wrow = (warp % C::warps_per_head) * 16 * MT;    // this warp's first row within the tile
  const int item = p.num_work - 1 - int(blockIdx.y);        // the longest (last) tiles of a prompt start first
  const int seq = p.work[2 * item], tile = p.work[2 * item + 1];
  const int kvh = first_head / (p.num_heads / p.num_kv_heads);  // HPC > 1 only when the group size is even
  const int qs = p.q_start[seq], nc = p.num_cached[seq];
  const int rows = min(kBM, p.q_len[seq] - tile);
  const int q0 = nc + tile;       // position of the tile's first query row
  const int kv_end = q0 + rows;   // keys [0, kv_end) exist (cached prefix + new tokens so far)
  const int32_t* bt = p.block_tables + int64_t(seq) * p.bt_stride;
  const int bs = p.block_size, nkv = p.num_kv_heads;

  for (int idx = tid; idx < HPC * kBM * kChunks; idx += C::threads) {  // rows past the end are zero-filled
    const int hr = idx / kChunks, h = hr / kBM, r = hr % kBM, c = (idx % kChunks) * 8;
    const bf16* src = p.q + int64_t(qs + tile + min(r, rows - 1)) * p.q_stride + (first_head + h) * D + c;
    cp_async16(smem_u32(sQ + hr * C::ld + c), src, r < rows);
  }
  auto load_kv = [&](int kb, int stage) {  // keys at or past kv_end are zero-filled (P there is 0)
    bf16* k_dst = sK + stage * C::kv_elems;
    bf16* v_dst = sV + stage * C::kv_elems;
    for (int idx = tid; idx < kBN * kChunks; idx += C::threads) {
      const int r = idx / kChunks, c = (idx % kChunks) * 8;
      const int j = kb + r;
      const bool ok = j < kv_end;
      int64_t off = 0;
      if (ok) off = paged_kv_offset(bt, j, bs, nkv, kvh, D) + c;
      cp_async16(smem_u32(k_dst + r * C::ld + c), p.k_cache + off, ok);
      cp_async16(smem_u32(v_dst + r * C::ld + c), p.v_cache + off, ok);
    }
  };
  load_kv(0, 0);
  cp_async_commit();

  const int n_tiles = (kv_end + kBN - 1) / kBN;
  const int n_full = min(n_tiles, (q0 + 1) / kBN);  // tiles whose every key is <= every row's position
  const float scale_log2 = p.scale * 1.4426950408889634f;
  const bf16* q_warp = sQ + (hl * kBM + wrow) * C::ld;  // this warp's first Q row in shared memory

  // ldmatrix x4 address of the 16x16 A tile at (row r0, column c0) of a row-major tile with pitch ld.
  auto a_addr = [&](const bf16* base, int c0) {
    return smem_u32(base + ((lane % 8) + ((lane / 8) % 2) * 8) * C::ld + c0 + (lane / 16) * 8);
  };

  uint32_t qf[kQRegs][4];
  float o[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int db = 0; db < D / 8; ++db)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[mt][db][e] = 0.f;
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.f;

  for (int t = 0; t < n_tiles; ++t) {
    const int stage = t & 1;
    if (t + 1 < n_tiles) load_kv((t + 1) * kBN, stage ^ 1);
    cp_async_commit();  // possibly empty: keeps "all but the newest group" meaning "tile t is in"
    cp_async_wait<1>();
    __syncthreads();
    if constexpr (MT == 1) {
      if (t == 0) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) ldsm_x4(a_addr(q_warp, kk * 16), qf[kk]);
      }
    }
    const bf16* k_s = sK + stage * C::kv_elems;
    const bf16* v_s = sV + stage * C::kv_elems;

    float s[MT][kBN / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int nb = 0; nb < kBN / 8; ++nb)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[mt][nb][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t qa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        if constexpr (MT == 1) {
#pragma unroll
          for (int i = 0; i < 4; ++i) qa[mt][i] = qf[kk][i];
        } else {
          ldsm_x4(a_addr(q_warp + mt * 16 * C::ld, kk * 16), qa[mt]);
        }
      }
#pragma unroll
      for (int nb = 0; nb < kBN / 16; ++nb) {
        uint32_t b[4];
        const int key = nb * 16 + (lane % 8) + (lane / 16) * 8, c = kk * 16 + ((lane / 8) % 2) * 8;
        ldsm_x4(smem_u32(k_s + key * C::ld + c), b);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma_bf16(s[mt][2 * nb], qa[mt], b[0], b[1]);
          mma_bf16(s[mt][2 * nb + 1], qa[mt], b[2], b[3]);
        }
      }
    }

    // Online softmax in the log2 domain; a row's four lanes share its max through two shuffles.
    const int kb = t * kBN;
    const bool masked = t >= n_full;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      const int row0 = q0 + wrow + mt * 16 + g;  // position of this lane's first row; the second is row0 + 8
      float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int nb = 0; nb < kBN / 8; ++nb) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float v = s[mt][nb][e] * scale_log2;
          if (masked) {
            const int j = kb + nb * 8 + 2 * t4 + (e & 1), qpos = row0 + 8 * (e / 2);
            if (j > qpos || j >= kv_end) v = -INFINITY;
          }
          s[mt][nb][e] = v;
          mx[e / 2] = fmaxf(mx[e / 2], v);
        }
      }
      float base[2], alpha[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        const float m_new = fmaxf(m[mt][i], mx[i]);
        base[i] = m_new == -INFINITY ? 0.f : m_new;  // a row with nothing visible yet stays all zero
        alpha[i] = fast_exp2(m[mt][i] - base[i]);
        m[mt][i] = m_new;
        l[mt][i] *= alpha[i];
      }
#pragma unroll
      for (int nb = 0; nb < kBN / 8; ++nb) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float pv = fast_exp2(s[mt][nb][e] - base[e / 2]);
          s[mt][nb][e] = pv;
          l[mt][e / 2] += pv;  // this lane's columns only; the row's four lanes are summed at the end
        }
      }
#pragma unroll
      for (int db = 0; db < D / 8; ++db)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[mt][db][e] *= alpha[e / 2];
    }

    // O += P V: the S accumulator layout of two adjacent 8-key blocks is the A fragment of 16 keys.
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        a[mt][0] = pack_bf16(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = pack_bf16(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = pack_bf16(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = pack_bf16(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int db = 0; db < D / 16; ++db) {
        uint32_t b[4];
        const int key = kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8, c = db * 16 + (lane / 16) * 8;
        ldsm_x4_trans(smem_u32(v_s + key * C::ld + c), b);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma_bf16(o[mt][2 * db], a[mt], b[0], b[1]);
          mma_bf16(o[mt][2 * db + 1], a[mt], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // the next iteration's prefetch overwrites this stage
  }

  // Normalise and write out through this warp's own rows of the Q tile (16-byte global stores).
  bf16* so = sQ + (hl * kBM + wrow) * C::ld;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float sum = l[mt][i];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      inv[i] = sum > 0.f ? 1.f / sum : 0.f;
    }
#pragma unroll
    for (int db = 0; db < D / 8; ++db)
#pragma unroll
      for (int i = 0; i < 2; ++i)
        *reinterpret_cast<__nv_bfloat162*>(so + (mt * 16 + g + 8 * i) * C::ld + db * 8 + 2 * t4) =
            __floats2bfloat162_rn(o[mt][db][2 * i] * inv[i], o[mt][db][2 * i + 1] * inv[i]);
  }
  __syncwarp();
  const int head = first_head + hl;
  for (int idx = lane; idx < 16 * MT * kChunks; idx += 32) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8, row = wrow + r;
    if (row < rows)
      *reinterpret_cast<uint4*>(p.out + int64_t(qs + tile + row) * p.out_stride + head * D + c) =
          *reinterpret_cast<const uint4*>(so + r * C::ld + c);
  }
}

template <int D, int MT, int HPC>
void launch(const AttentionPrefillParams& p, cudaStream_t stream) {
  using C = Config<D, MT, HPC>;
  static thread_local int configured_device = -1;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (configured_device != dev) {  // the attribute is per device; set it once per thread and device
    CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_mma_kernel<D, MT, HPC>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, int(C::bytes)));
    configured_device = dev;
  }
  attention_prefill_mma_kernel<D, MT, HPC>
      <<<dim3(p.num_heads / HPC, p.num_work), C::threads, C::bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

template <int D>
void launch_variant(const AttentionPrefillParams& p, PrefillMmaVariant v, cudaStream_t stream) {
  switch (v) {
    case PrefillMmaVariant::Rows16Heads1: return launch<D, 1, 1>(p, stream);
    case PrefillMmaVariant::Rows16Heads2: return launch<D, 1, 2>(p, stream);
    case PrefillMmaVariant::Rows32Heads2: return launch<D, 2, 2>(p, stream);
    default: throw std::invalid_argument("attention_prefill_mma: unknown variant");
  }
}

PrefillMmaVariant default_variant() {
  static const PrefillMmaVariant v = [] {
    const char* env = std::getenv("DYNAMO_PREFILL_MMA");
    if (env != nullptr) {
      const int i = std::atoi(env);
      if (i >= 0 && i <= 2) return PrefillMmaVariant(i);
    }
    // Measured on an H100, Llama-3.1-8B, 4,096 tokens, one layer: 0.558 ms against 0.667 (variant 1)
    // and 0.782 (variant 0); the whole prefill 110.2 ms against 113.4 and 117.5 (docs/PERFORMANCE.md).
    return PrefillMmaVariant::Rows32Heads2;
  }();
  return v;
}

}  // namespace

void attention_prefill_mma(const AttentionPrefillParams& p, cudaStream_t stream) {
  attention_prefill_mma(p, default_variant(), stream);
}

void attention_prefill_mma(const AttentionPrefillParams& p, PrefillMmaVariant variant, cudaStream_t stream) {
  if (p.num_work == 0) return;
  if (p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0)
    throw std::invalid_argument("attention_prefill: num_heads % num_kv_heads != 0");
  if (p.num_work > 65535) throw std::invalid_argument("attention_prefill: more than 65535 work items");
  // Two heads per CTA must share one kv head: an even group size.
  if ((p.num_heads / p.num_kv_heads) % 2 != 0) variant = PrefillMmaVariant::Rows16Heads1;
  switch (p.head_dim) {
    case 64: launch_variant<64>(p, variant, stream); break;
    case 128: launch_variant<128>(p, variant, stream); break;
    default:
      throw std::invalid_argument("attention_prefill: head_dim " + std::to_string(p.head_dim) +
                                  " is not supported (64 or 128)");
  }
}

}  // namespace dynamo::gpu
