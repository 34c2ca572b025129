// Token embedding lookup kernel: one block per token, 16-byte copies.
#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/embedding.cuh"

namespace dynamo::gpu {
namespace {

__global__ void embed_tokens_kernel(const int32_t* ids, const uint4* table, uint4* out, int vecs_per_row) {
  const int t = blockIdx.x;
  const int64_t row = ids[t];
  for (int i = threadIdx.x; i < vecs_per_row; i += blockDim.x)
    out[int64_t(t) * vecs_per_row + i] = table[row * vecs_per_row + i];
}

}  // namespace

void embed_tokens(const int32_t* ids, const bf16* table, bf16* out, int num_tokens, int hidden,
                  cudaStream_t stream) {
  if (num_tokens == 0) return;
  embed_tokens_kernel<<<num_tokens, 128, 0, stream>>>(ids, reinterpret_cast<const uint4*>(table),
                                                      reinterpret_cast<uint4*>(out), hidden / 8);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
