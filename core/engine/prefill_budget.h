// The "smallest saturating prefill batch": a prefill worker times prefill steps over doubling token
// budgets at start-up and keeps the smallest budget whose throughput is within 5% of the best, so
// prompts are not held back to fill batches that buy no throughput.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/block_manager.h"
#include "core/executor/executor.h"

namespace dynamo {

struct BudgetPoint {
  int32_t tokens = 0;
  double seconds = 0.0;        // best of the timed runs
  double tokens_per_s = 0.0;
};

// Smallest `tokens` whose throughput is at least (1 - tolerance) of the best; 0 for an empty curve.
int32_t choose_prefill_budget(const std::vector<BudgetPoint>& curve, double tolerance = 0.05);

// Times one prefill step of dummy tokens on a scratch sequence for budgets min_tokens, 2*min_tokens,
// ... up to max_tokens (and what the free blocks hold), stopping early once a step takes longer than
// max_step_seconds. Allocates the scratch blocks from `blocks` and frees them (uncached) afterwards.
// Call from the worker's thread before it serves requests.
std::vector<BudgetPoint> measure_prefill_curve(Executor& executor, BlockManager& blocks, int32_t min_tokens,
                                               int32_t max_tokens, double max_step_seconds = 1.0);

std::string describe_curve(const std::vector<BudgetPoint>& curve);  // "64:1.2e4 128:2.3e4 ..." tok/s
}  // namespace dynamo
