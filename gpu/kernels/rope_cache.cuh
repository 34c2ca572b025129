// Rotary embedding (neox style, on the first rotary_dim of each head) applied in place to q and k
// inside the fused qkv activation, then K and V stored into the paged cache at each token's slot.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

// The step's rotation table, computed once per step for every layer: cos_sin[t][i] = (cos, sin) of
// positions[t] * inv_freq[i] for i < rotary_dim / 2, each rounded to bf16 as Hugging Face's bf16
// cos/sin caches are. inv_freq: [rotary_dim / 2] (scaling already applied).
void rope_table(const int32_t* positions, const float* inv_freq, float2* cos_sin, int tokens, int rotary_dim,
                cudaStream_t stream);

// qkv: [tokens, (num_heads + 2 * num_kv_heads) * head_dim], q heads then k heads then v heads.
// cos_sin: rope_table()'s [tokens][rotary_dim / 2]. slots[t] = block * block_size + offset, or -1 to
// skip the cache store. Cache layout per layer: [num_blocks][block_size][num_kv_heads][head_dim].
// Products are rounded to bf16 as Hugging Face's bf16 apply_rotary_pos_emb does.
void rope_and_cache(__nv_bfloat16* qkv, const float2* cos_sin, const int32_t* slots, __nv_bfloat16* k_cache,
                    __nv_bfloat16* v_cache, int tokens, int num_heads, int num_kv_heads, int head_dim, int rotary_dim,
                    cudaStream_t stream);

}  // namespace dynamo::gpu
