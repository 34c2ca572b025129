// FlashAttention-2-style prefill attention: the same paged, causal, GQA computation as
// attention_prefill_wmma (and the same parameters), with S, P and the output accumulator in registers.
#pragma once
#include <cuda_runtime.h>

#include "gpu/kernels/attention_prefill.cuh"

namespace dynamo::gpu {

// One CTA per 64-row work item and one or two q heads. K/V tiles of 64 keys come through the block
// table into shared memory by cp.async, two stages deep; QK^T and PV run on mma.sync m16n8k16 (bf16 in,
// fp32 accumulate) with ldmatrix fragments; causal masking only on tiles that cross the diagonal.
enum class PrefillMmaVariant {
  Rows16Heads1 = 0,  // 4 warps x 16 rows, one head
  Rows16Heads2 = 1,  // 8 warps x 16 rows, two heads of one kv head sharing the K/V tiles
  Rows32Heads2 = 2,  // 4 warps x 32 rows (each K/V fragment feeds two m-tiles), two heads
};

// head_dim 64 or 128 (throws otherwise). The two-head variants need an even query-head group and fall
// back to Rows16Heads1 otherwise. Without a variant: DYNAMO_PREFILL_MMA=0|1|2, default 2 (fastest).
void attention_prefill_mma(const AttentionPrefillParams& p, cudaStream_t stream);
void attention_prefill_mma(const AttentionPrefillParams& p, PrefillMmaVariant variant, cudaStream_t stream);

}  // namespace dynamo::gpu
