// The decode attention split kernel's launcher and the partials' layout, shared by the split and
// combine kernels (only .cu files include this).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "gpu/kernels/attention_decode.cuh"

namespace dynamo::gpu {

// Keys a split takes: the context over the splits, but at least one round of the split kernel (its 4
// warps x 16 keys), so that short contexts use fewer splits (fewer partials to merge) and leave the
// rest empty.
constexpr int kMinDecodeSplitKeys = 64;
__host__ __device__ __forceinline__ int decode_split_keys(int ctx, int num_splits) {
  const int even = (ctx + num_splits - 1) / num_splits;
  return even > kMinDecodeSplitKeys ? even : kMinDecodeSplitKeys;
}

// Splits that hold a key (the merges read these partials only; the others are never written).
__host__ __device__ __forceinline__ int decode_splits_used(int ctx, int num_splits) {
  return (ctx + decode_split_keys(ctx, num_splits) - 1) / decode_split_keys(ctx, num_splits);
}

// Index of (sequence s, query head h, split) in the partials: part_acc rows of head_dim, part_ml pairs.
__device__ __forceinline__ int64_t decode_partial_index(const AttentionDecodeParams& p, int s, int h, int split) {
  return (int64_t(s) * p.num_heads + h) * p.num_splits + split;
}

// Launches the split kernel for p.mode with PDL (the caller has checked p). Unless p.mode is kCombine
// the caller launches the combine kernel after it.
void attention_decode_split(const AttentionDecodeParams& p, cudaStream_t stream);

}  // namespace dynamo::gpu
