// Programmatic dependent launch (PDL) for the small kernels of a decode step: a kernel launched with
// launch_pdl may start while the previous kernel in the stream drains (also inside a CUDA graph), does
// work that reads no predecessor output (address math, weight prefetch), then pdl_wait()s.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <utility>

#include "gpu/cuda_check.h"
#include "gpu/kernels/timeline.cuh"

namespace dynamo::gpu {

// Where a kernel lets the next one in the stream launch. Early (the default): at its start, so the
// kernels after it become resident as soon as there is room and issue their weight (and cached K/V)
// loads while this one and its predecessors still wait; late (built with -DDYNAMO_PDL_EARLY_TRIGGER=0,
// for comparison runs): once its own wait has returned. Measured in docs/PERFORMANCE.md.
#ifndef DYNAMO_PDL_EARLY_TRIGGER
#define DYNAMO_PDL_EARLY_TRIGGER 1
#endif

// The trigger (PdlScope's constructor).
__device__ __forceinline__ void pdl_begin() {
#if DYNAMO_PDL_EARLY_TRIGGER
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// First statement of every kernel launched by launch_pdl: `const PdlScope pdl(TimelineTag::k...);`
// (the trigger, and in a -DDYNAMO_TIMELINE=1 build the block's timeline record, kernels/timeline.cuh).
struct PdlScope {
  __device__ __forceinline__ explicit PdlScope(TimelineTag tag) {
    timeline_begin(tag);
    pdl_begin();
  }
  __device__ __forceinline__ ~PdlScope() { timeline_end(); }
};

// Blocks until every kernel this one depends on has finished and its writes are visible, then (late
// trigger) lets the next kernel launch; the wait is a no-op for a kernel launched without the PDL
// attribute. Every kernel launched by launch_pdl calls it before it reads another kernel's output or
// writes anything.
__device__ __forceinline__ void pdl_wait() {
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
  timeline_waited();
#if !DYNAMO_PDL_EARLY_TRIGGER
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// DYNAMO_PDL=0 launches without the attribute (for comparison runs); read once per process.
inline bool pdl_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("DYNAMO_PDL");
    return env == nullptr || env[0] != '0';
  }();
  return on;
}

// kernel<<<grid, block, smem, stream>>>(args...) with programmatic stream serialization allowed.
template <typename... KernelArgs, typename... Args>
void launch_pdl(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_enabled() ? 1 : 0;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace dynamo::gpu
