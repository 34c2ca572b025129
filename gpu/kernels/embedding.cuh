// Token embedding lookup: out[t] = table[ids[t]] (bf16 rows).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

// hidden must be a multiple of 8. ids must be in [0, vocab); the executor validates them on the host.
void embed_tokens(const int32_t* ids, const __nv_bfloat16* table, __nv_bfloat16* out, int num_tokens,
                  int hidden, cudaStream_t stream);

// Tensor parallelism: table holds vocabulary rows [vocab_begin, vocab_begin + vocab_count); tokens
// outside give zero rows, so summing the ranks' outputs gives the full lookup.
void embed_tokens_shard(const int32_t* ids, const __nv_bfloat16* table, __nv_bfloat16* out, int num_tokens,
                        int hidden, int vocab_begin, int vocab_count, cudaStream_t stream);

}  // namespace dynamo::gpu
