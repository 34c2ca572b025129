// Per-head RMSNorm of q and k inside the fused qkv activation (Qwen3's q_norm / k_norm), in place.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace dynamo::gpu {

// qkv: [tokens, row_stride]; heads [first_head, first_head + num_heads) of head_dim each start at
// first_head * head_dim in a row. head_dim a multiple of 8 and at most 256.
void head_rms_norm(__nv_bfloat16* qkv, const __nv_bfloat16* weight, int tokens, int row_stride, int first_head,
                   int num_heads, int head_dim, float eps, cudaStream_t stream);

}  // namespace dynamo::gpu
