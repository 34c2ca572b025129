// Host side of the kernel timeline: the registry of translation units and the device buffer.
#include "gpu/timeline.h"

#include <cuda_runtime.h>

#include <algorithm>

#include "gpu/cuda_check.h"

namespace dynamo::gpu {
namespace {

std::vector<TimelineAttach>& registry() {
  static std::vector<TimelineAttach> r;
  return r;
}

}  // namespace

bool timeline_register(TimelineAttach attach) {
  registry().push_back(attach);
  return true;
}

bool Timeline::compiled_in() { return !registry().empty(); }

Timeline::Timeline(uint32_t capacity) : capacity_(capacity) {
  CUDA_CHECK(cudaMalloc(&records_, sizeof(TimelineRecord) * capacity));
  CUDA_CHECK(cudaMalloc(&buffer_, sizeof(TimelineBuffer)));
  const TimelineBuffer b{records_, capacity, 0, 0};
  CUDA_CHECK(cudaMemcpy(buffer_, &b, sizeof(b), cudaMemcpyHostToDevice));
  for (TimelineAttach attach : registry()) attach(buffer_);
}

Timeline::~Timeline() {
  for (TimelineAttach attach : registry()) attach(nullptr);
  cudaFree(buffer_);
  cudaFree(records_);
}

void Timeline::start() {
  CUDA_CHECK(cudaDeviceSynchronize());
  const TimelineBuffer b{records_, capacity_, 0, 1};
  CUDA_CHECK(cudaMemcpy(buffer_, &b, sizeof(b), cudaMemcpyHostToDevice));
}

std::vector<TimelineRecord> Timeline::stop() {
  CUDA_CHECK(cudaDeviceSynchronize());
  TimelineBuffer b{};
  CUDA_CHECK(cudaMemcpy(&b, buffer_, sizeof(b), cudaMemcpyDeviceToHost));
  b.on = 0;
  CUDA_CHECK(cudaMemcpy(buffer_, &b, sizeof(b), cudaMemcpyHostToDevice));
  std::vector<TimelineRecord> out(std::min(b.count, capacity_));
  CUDA_CHECK(cudaMemcpy(out.data(), records_, sizeof(TimelineRecord) * out.size(), cudaMemcpyDeviceToHost));
  return out;
}

}  // namespace dynamo::gpu
