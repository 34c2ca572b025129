// Device-side helpers shared by the kernels (only .cu files include this): bf16 vector access, warp
// reductions, asynchronous copies to shared memory.
#pragma once
#include <cuda_bf16.h>
#include <cstdint>

namespace dynamo::gpu {

using bf16 = __nv_bfloat16;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The 8 bf16 values of one 16-byte piece, as floats.
__device__ __forceinline__ void unpack8(const uint4& raw, float (&out)[8]) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(h[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}

// 8 bf16 values moved as one 16-byte access.
__device__ __forceinline__ void load8(const bf16* p, float (&out)[8]) {
  unpack8(*reinterpret_cast<const uint4*>(p), out);
}

__device__ __forceinline__ void store8(bf16* p, const float (&v)[8]) {
  uint4 raw;
  __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  *reinterpret_cast<uint4*>(p) = raw;
}

__device__ __forceinline__ uint32_t smem_u32(const void* ptr) { return uint32_t(__cvta_generic_to_shared(ptr)); }

// 16-byte asynchronous global -> shared copy; with valid == false nothing is read and the destination
// is zero-filled. Completion: cp_async_commit() after a batch, cp_async_wait<N>() (N batches may stay
// in flight), then a barrier before other threads read the data.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid = true) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Element offset of key j, kv head kvh, dim 0 in one layer of the paged cache
// [blocks][block_size][num_kv_heads][head_dim], through the sequence's block table bt.
__device__ __forceinline__ int64_t paged_kv_offset(const int32_t* bt, int j, int block_size, int num_kv_heads,
                                                   int kvh, int head_dim) {
  return ((int64_t(bt[j / block_size]) * block_size + j % block_size) * num_kv_heads + kvh) * head_dim;
}

__device__ __forceinline__ float round_bf16(float x) { return __bfloat162float(__float2bfloat16(x)); }

// Neox RoPE of one pair (x1 at dim i, x2 at i + rotary_dim / 2) by (c, s), rounded as Hugging Face's
// bf16 apply_rotary_pos_emb: each product to bf16, then their sum. rope_lo is the new x1, rope_hi the
// new x2. Every RoPE path calls these, so the fused and unfused ones give the same bits.
__device__ __forceinline__ float rope_lo(float x1, float x2, float c, float s) {
  return round_bf16(round_bf16(x1 * c) + round_bf16(-x2 * s));
}
__device__ __forceinline__ float rope_hi(float x1, float x2, float c, float s) {
  return round_bf16(round_bf16(x2 * c) + round_bf16(x1 * s));
}

}  // namespace dynamo::gpu
