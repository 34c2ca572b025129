// Device side of the kernel timeline (gpu/timeline.h): each block of an instrumented kernel records
// when it began, when its PDL wait returned and when its last warp left. Compiled in only with
// -DDYNAMO_TIMELINE=1 (a separate build: it adds an atomic and a barrier to every block); otherwise
// the hooks are empty.
#pragma once
#include <cuda_runtime.h>

#include "gpu/timeline.h"

#ifndef DYNAMO_TIMELINE
#define DYNAMO_TIMELINE 0
#endif

#if DYNAMO_TIMELINE
#include "gpu/cuda_check.h"
#endif

namespace dynamo::gpu {

#if DYNAMO_TIMELINE
namespace {
__device__ TimelineBuffer* g_timeline;         // this translation unit's copy
__shared__ TimelineRecord* g_timeline_record;  // this block's record, or null

void attach_timeline(TimelineBuffer* b) { CUDA_CHECK(cudaMemcpyToSymbol(g_timeline, &b, sizeof(b))); }
[[maybe_unused]] const bool g_timeline_registered = timeline_register(&attach_timeline);

__device__ __forceinline__ unsigned long long timeline_now() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
}  // namespace
#endif

// At a kernel's start, in every thread of the block (it has a barrier).
__device__ __forceinline__ void timeline_begin([[maybe_unused]] TimelineTag tag) {
#if DYNAMO_TIMELINE
  if (threadIdx.x == 0) {
    const unsigned long long t = timeline_now();
    TimelineBuffer* b = g_timeline;
    TimelineRecord* r = nullptr;
    if (b != nullptr && *static_cast<volatile uint32_t*>(&b->on)) {
      const uint32_t i = atomicAdd(&b->count, 1u);
      if (i < b->capacity) {
        r = b->records + i;
        uint32_t sm;
        asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
        r->begin = t;
        r->wait = 0;
        r->end = 0;
        r->mark[0] = r->mark[1] = r->mark[2] = 0;
        r->tag = uint32_t(tag);
        r->sm = sm;
        r->block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
        r->blocks = gridDim.x * gridDim.y * gridDim.z;
      }
    }
    g_timeline_record = r;
  }
  __syncthreads();
#endif
}

__device__ __forceinline__ void timeline_waited() {
#if DYNAMO_TIMELINE
  if (threadIdx.x == 0 && g_timeline_record != nullptr) g_timeline_record->wait = timeline_now();
#endif
}

// A kernel-defined point i < 3 of the block (thread 0's time; call it after a barrier).
__device__ __forceinline__ void timeline_mark([[maybe_unused]] int i) {
#if DYNAMO_TIMELINE
  if (threadIdx.x == 0 && g_timeline_record != nullptr) g_timeline_record->mark[i] = timeline_now();
#endif
}

// Wherever a thread leaves the kernel: lane 0 of each warp raises the block's end.
__device__ __forceinline__ void timeline_end() {
#if DYNAMO_TIMELINE
  if (threadIdx.x % 32 == 0 && g_timeline_record != nullptr) atomicMax(&g_timeline_record->end, timeline_now());
#endif
}

}  // namespace dynamo::gpu
