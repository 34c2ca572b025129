// gpu_bench l2: what L2 residency buys the skinny product. One weight matrix [out, in], the 1-row
// product timed cold (L2 flushed), after the L2 prefetch kernel has put its first X MB in L2, and
// with the whole matrix read into L2 first.
#pragma once

namespace dynamo::gpu {

// Prints the table; copy_gbps: the device's copy bandwidth (bytes read + written), for the ratio.
void print_l2_bench(int in, int out, int reps, double copy_gbps);

}  // namespace dynamo::gpu
