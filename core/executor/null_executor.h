// The "null" executor: no math, near-zero cost, but a checking one. Its KV blocks hold, for every
// position, the token id and position written there; each sampled token is a hash of the whole
// context read back through the block table, so any block-table, prefix-cache or KV-transfer bug
// changes the output (or throws when a slot was never written or holds the wrong position).
#pragma once
#include <memory>

#include "core/executor/executor.h"

namespace dynamo {

// device "null" (or "null:N"). num_kv_blocks 0 means 8192 blocks. Keeps at most 4 "layers" of KV.
std::unique_ptr<Executor> make_null_executor(const Model& model, const ExecutorOptions& options);

// Registers make_null_executor as the "null" backend (idempotent; call before threads start).
void register_null_executor_backend();

}  // namespace dynamo
