// L2 prefetch of a byte range (weights a later kernel streams): a few blocks issue fire-and-forget
// prefetches and exit, so the data arrives in L2 while other kernels run. Numerics are untouched.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace dynamo::gpu {

enum class L2PrefetchOp {
  kBulk,            // cp.async.bulk.prefetch.L2 (sm_90 copy engine), 4 KiB per instruction
  kLinesEvictLast,  // prefetch.global.L2::evict_last, one 128-byte line per instruction
};

// Prefetches [p, p + bytes) into L2 (p rounded up and the end down to 16 bytes; nothing for less).
// Launched plainly (no PDL): it reads nothing another kernel writes.
void l2_prefetch(const void* p, size_t bytes, L2PrefetchOp op, cudaStream_t stream);

}  // namespace dynamo::gpu
