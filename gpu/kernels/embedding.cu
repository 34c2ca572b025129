// Token embedding lookup kernel: one block per token, 16-byte copies.
#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/embedding.cuh"

namespace dynamo::gpu {
namespace {

// Rows outside [begin, begin + count) of the vocabulary become zeros (a vocab shard's lookup).
__global__ void embed_tokens_kernel(const int32_t* ids, const uint4* table, uint4* out, int vecs_per_row,
                                    int begin, int count) {
  const int t = blockIdx.x;
  const int64_t row = int64_t(ids[t]) - begin;
  const bool mine = row >= 0 && row < count;
  for (int i = threadIdx.x; i < vecs_per_row; i += blockDim.x)
    out[int64_t(t) * vecs_per_row + i] = mine ? table[row * vecs_per_row + i] : make_uint4(0, 0, 0, 0);
}

}  // namespace

void embed_tokens(const int32_t* ids, const bf16* table, bf16* out, int num_tokens, int hidden,
                  cudaStream_t stream) {
  if (num_tokens == 0) return;
  embed_tokens_kernel<<<num_tokens, 128, 0, stream>>>(ids, reinterpret_cast<const uint4*>(table),
                                                      reinterpret_cast<uint4*>(out), hidden / 8, 0, INT32_MAX);
  CUDA_CHECK_LAUNCH();
}

void embed_tokens_shard(const int32_t* ids, const bf16* table, bf16* out, int num_tokens, int hidden,
                        int vocab_begin, int vocab_count, cudaStream_t stream) {
  if (num_tokens == 0) return;
  embed_tokens_kernel<<<num_tokens, 128, 0, stream>>>(ids, reinterpret_cast<const uint4*>(table),
                                                      reinterpret_cast<uint4*>(out), hidden / 8, vocab_begin,
                                                      vocab_count);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
