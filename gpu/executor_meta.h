// One step's metadata for the CUDA executor: host-side arrays (flat tokens, positions, cache slots,
// per-sequence ranges, block tables, prefill work items, logit rows) and their fixed device layout,
// so that captured decode graphs always read the same addresses. Used on the executor's thread only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gpu/cuda_executor.h"

namespace dynamo::gpu {

// Offsets (in int32 elements) of each array inside the device metadata buffer, for at most cap_tokens
// tokens and cap_seqs sequences; the block tables come last, so a step's arrays end at
// block_tables + seqs * width and go up in one copy. A decode graph of P sequences uses the layout of
// (P, P): its arrays are a few KB, not the executor's capacity.
struct MetaLayout {
  MetaLayout() = default;
  MetaLayout(int cap_tokens, int cap_seqs, int cap_width);
  size_t tokens = 0, positions = 0, slots = 0, q_start = 0, q_len = 0, num_cached = 0, ctx_len = 0, logit_rows = 0,
         bt_stride = 0, work = 0, block_tables = 0;
  size_t total = 0;
};

struct CudaExecutor::Meta {
  MetaLayout layout;  // where the arrays go in the device buffer
  int tokens = 0;  // flat tokens, padding rows included
  int seqs = 0;    // sequences, padding rows included
  int width = 1;   // block-table row stride of this step
  std::vector<int32_t> token_ids, positions, slots;          // [tokens]
  std::vector<int32_t> q_start, q_len, num_cached, ctx_len;  // [seqs]
  std::vector<int32_t> block_tables;                         // [seqs][width]
  std::vector<int32_t> work;                                 // [items][2]
  std::vector<int32_t> logit_rows;                           // flat token rows of the sampled sequences
};

int blocks_needed(const SequenceWork& s, int block_size);

// Throws std::invalid_argument naming the sequence and the problem (empty tokens, token id out of
// range, block table too short or with a bad block id, sample without sampling params).
void validate_step(const StepRequest& request, const ModelConfig& config, int block_size, int num_blocks,
                   const std::string& device);

}  // namespace dynamo::gpu
