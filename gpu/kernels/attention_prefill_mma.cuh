// FlashAttention-2-style prefill attention: the same paged, causal, GQA computation as
// attention_prefill_wmma (and the same parameters), with S, P and the output accumulator in registers.
#pragma once
#include <cuda_runtime.h>

#include "gpu/kernels/attention_prefill.cuh"

namespace dynamo::gpu {

// One CTA per (64-row work item, q head), 4 warps of 16 rows. K/V tiles of 64 keys come through the
// block table into shared memory by cp.async, two stages deep; QK^T and PV run on mma.sync m16n8k16
// (bf16 in, fp32 accumulate) with ldmatrix fragments; causal masking only on tiles that cross the
// diagonal. head_dim 64 or 128 (throws otherwise).
void attention_prefill_mma(const AttentionPrefillParams& p, cudaStream_t stream);

}  // namespace dynamo::gpu
