// Host side of the kernel timeline (gpu/kernels/timeline.cuh): per-block timestamps of the decode
// step's PDL kernels, recorded only by a build with -DDYNAMO_TIMELINE=1 (gpu_bench timeline).
#pragma once
#include <cstdint>
#include <vector>

namespace dynamo::gpu {

// Kinds of the instrumented kernels.
enum class TimelineTag : uint32_t { kNorm = 1, kProduct = 2, kProductSwiglu = 3, kAttention = 4,
                                    kAttentionCombine = 5, kRope = 6 };

// One block of one launch; times in ns of the device's global timer.
struct TimelineRecord {
  unsigned long long begin;  // first instruction
  unsigned long long wait;   // its PDL wait returned (0: never reached)
  unsigned long long end;    // the last of its warps left
  unsigned long long mark[3];  // kernel-defined points (timeline_mark), 0: not reached
  uint32_t tag, sm, block, blocks;
};

// Device-resident: the kernels append while `on`.
struct TimelineBuffer {
  TimelineRecord* records;
  uint32_t capacity;
  uint32_t count;
  uint32_t on;
};

// Each CUDA translation unit that holds instrumented kernels registers how to point its copy of the
// device buffer pointer at a buffer (no relocatable device code). Returns true.
using TimelineAttach = void (*)(TimelineBuffer*);
bool timeline_register(TimelineAttach attach);

// A recording on the current device: start() before the launches to record, stop() after them (it
// synchronises the device) returns the blocks recorded since start(), at most `capacity`.
class Timeline {
 public:
  explicit Timeline(uint32_t capacity);
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // False in a build without -DDYNAMO_TIMELINE=1: nothing registered, nothing recorded.
  static bool compiled_in();
  void start();
  std::vector<TimelineRecord> stop();

 private:
  TimelineBuffer* buffer_ = nullptr;  // device
  TimelineRecord* records_ = nullptr;  // device
  uint32_t capacity_ = 0;
};

}  // namespace dynamo::gpu
