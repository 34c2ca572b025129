// A request as one worker holds it: its tokens, KV blocks and progress. Owned by that worker's thread;
// RequestContext is shared (read-only after submit) between the workers a request passes through.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/engine/request.h"
#include "core/executor/executor.h"

namespace dynamo {

class Worker;

enum class SequenceState {
  Waiting,     // queued (new or preempted), holds no blocks
  Running,     // holds blocks; computes a prompt chunk or one decode token per step
  AwaitingKv,  // decode side of a remote prefill: blocks reserved, the prefill worker fills them
};

// Fixed at submit; shared by every worker the request passes through.
struct RequestContext {
  int64_t id = 0;
  GenerationRequest request;
  std::shared_ptr<RequestStream> stream;
  std::vector<int32_t> stop_ids;       // EOS ids (unless ignore_eos) and stop_token_ids
  std::vector<uint64_t> prompt_hashes; // chained hashes of the prompt's full blocks
  int32_t max_model_len = 0;
};

// Where a prefill worker sends the KV it computes (decode worker's reservation).
struct TransferTarget {
  Worker* decode = nullptr;          // gets the PrefillDone message
  Executor* dst = nullptr;
  int64_t dst_seq_id = 0;
  std::vector<int32_t> dst_blocks;   // one per prompt block
  int32_t dst_cached_blocks = 0;     // leading blocks the decode worker already holds: not sent
};

struct Sequence {
  int64_t id = 0;
  std::shared_ptr<RequestContext> ctx;
  SequenceState state = SequenceState::Waiting;
  std::vector<int32_t> tokens;       // prompt, then generated tokens
  int32_t prompt_len = 0;
  std::vector<int32_t> blocks;       // block table
  std::vector<uint64_t> hashes;      // hashes of full blocks of `tokens` (prefix of it)
  int32_t num_computed = 0;          // tokens whose KV is in `blocks`
  int32_t num_committed = 0;         // leading blocks offered to the prefix cache
  Clock::time_point arrival;
  bool scheduled_once = false;
  // Prefill worker: stop after the first token and ship the KV.
  bool prefill_only = false;
  TransferTarget target;
  int32_t next_send_block = 0;
  KvSendPlan send_plan;              // this step's part of the transfer
  // Decode worker: the prompt's prefill runs on this prefill worker.
  Worker* remote_prefill = nullptr;

  int32_t num_generated() const { return static_cast<int32_t>(tokens.size()) - prompt_len; }
  std::span<const int32_t> prompt() const { return {tokens.data(), static_cast<size_t>(prompt_len)}; }
  std::span<const int32_t> generated() const {
    return {tokens.data() + prompt_len, tokens.size() - static_cast<size_t>(prompt_len)};
  }
};

}  // namespace dynamo
