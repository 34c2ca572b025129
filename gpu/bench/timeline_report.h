// gpu_bench timeline's report: a decode step's per-block records (gpu/timeline.h) grouped into
// launches, and per position in a layer the share of the step's critical path each kernel holds.
#pragma once
#include <string>
#include <vector>

#include "gpu/timeline.h"

namespace dynamo::gpu {

// Weight bytes of the layer's products in the order they run (tag kProduct and kProductSwiglu
// launches are named by it): e.g. {"QKV", b}, {"o_proj", b}, {"gate/up + SwiGLU", b}, {"down", b}.
struct ProductShape {
  std::string name;
  double bytes = 0;
};

// Prints the launches of one step (its records, in any order) to stdout. num_layers: the model's.
void print_timeline_report(std::vector<TimelineRecord> records, int num_layers,
                           const std::vector<ProductShape>& layer_products);

// Duration in us of the recorded step: the first block's start to the last block's end.
double timeline_span_us(const std::vector<TimelineRecord>& records);

}  // namespace dynamo::gpu
