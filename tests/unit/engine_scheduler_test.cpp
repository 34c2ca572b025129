// Scheduler: continuous batching, chunked prefill, --max-num-seqs, preemption of the youngest, and the
// cache-aware admission order with its age bound. Also the prefill budget choice.
#include <doctest/doctest.h>

#include "core/engine/block_hash.h"
#include "core/engine/prefill_budget.h"
#include "core/engine/scheduler.h"
#include "core/executor/null_executor.h"
#include "engine_test_util.h"

using namespace dynamo;

namespace {

std::unique_ptr<Sequence> make_seq(int64_t id, std::vector<int32_t> prompt, Clock::time_point arrival, int32_t bs) {
  auto s = std::make_unique<Sequence>();
  s->id = id;
  s->ctx = std::make_shared<RequestContext>();
  s->ctx->stream = std::make_shared<RequestStream>();
  s->ctx->request.prompt = prompt;
  s->tokens = prompt;
  s->prompt_len = static_cast<int32_t>(prompt.size());
  extend_block_hashes(prompt, bs, s->hashes);
  s->arrival = arrival;
  return s;
}

// Runs the plan as an executor would: advance, then append a token to sampled sequences.
void finish_step(Scheduler& s, const SchedulePlan& plan) {
  s.after_step(plan.batch);
  for (const auto& x : plan.batch) {
    if (x.sample) x.seq->tokens.push_back(1);
  }
}

}  // namespace

TEST_CASE("engine scheduler: new sequences join the next step; prompts are chunked") {
  BlockManager blocks(64, 4);
  Scheduler s(blocks, {.max_num_seqs = 8, .max_num_batched_tokens = 8});
  const auto t0 = Clock::now();
  auto a = make_seq(1, test::prompt_of(20, 1), t0, 4);
  Sequence* pa = a.get();
  s.add(std::move(a));
  std::vector<int32_t> chunks;
  for (int i = 0; i < 3; ++i) {
    auto plan = s.schedule(Clock::now());
    REQUIRE(plan.batch.size() == 1);
    chunks.push_back(plan.batch[0].num_tokens);
    CHECK(plan.batch[0].sample == (i == 2));
    finish_step(s, plan);
  }
  CHECK(chunks == std::vector<int32_t>{8, 8, 4});
  CHECK(pa->num_computed == 20);
  CHECK(pa->tokens.size() == 21);

  s.add(make_seq(2, test::prompt_of(6, 2), t0 + std::chrono::seconds(1), 4));
  auto plan = s.schedule(Clock::now());
  REQUIRE(plan.batch.size() == 2);
  CHECK(plan.batch[0].seq == pa);  // decode token first
  CHECK(plan.batch[0].num_tokens == 1);
  CHECK(plan.batch[1].num_tokens == 6);  // the new prompt fills the rest of the budget
  finish_step(s, plan);
  CHECK(blocks.num_used() == 6 + 2);
  s.remove(pa);
  CHECK(blocks.num_used() == 2);
  CHECK(blocks.num_cached() == 5);  // pa's full blocks stay in the prefix cache
  blocks.check_invariants();
}

TEST_CASE("engine scheduler: --max-num-seqs bounds the running set") {
  BlockManager blocks(64, 4);
  Scheduler s(blocks, {.max_num_seqs = 2, .max_num_batched_tokens = 100});
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) s.add(make_seq(i, test::prompt_of(5, i), t0 + std::chrono::milliseconds(i), 4));
  auto plan = s.schedule(Clock::now());
  CHECK(plan.batch.size() == 2);
  CHECK(s.num_running() == 2);
  CHECK(s.num_waiting() == 3);
}

TEST_CASE("engine scheduler: a full worker preempts the youngest and recomputes it later") {
  BlockManager blocks(5, 4);
  Scheduler s(blocks, {.max_num_seqs = 8, .max_num_batched_tokens = 64});
  const auto t0 = Clock::now();
  auto a = make_seq(1, test::prompt_of(8, 1), t0, 4);
  auto b = make_seq(2, test::prompt_of(8, 2), t0 + std::chrono::seconds(1), 4);
  Sequence* pa = a.get();
  Sequence* pb = b.get();
  s.add(std::move(a));
  s.add(std::move(b));
  auto plan = s.schedule(Clock::now());
  REQUIRE(plan.batch.size() == 2);  // 4 blocks of 5
  finish_step(s, plan);
  // Decoding position 8 needs a third block each: only one is free, so b (younger) is preempted.
  plan = s.schedule(Clock::now());
  REQUIRE(plan.batch.size() == 1);
  CHECK(plan.batch[0].seq == pa);
  CHECK(pb->state == SequenceState::Waiting);
  CHECK(pb->num_computed == 0);
  CHECK(pb->tokens.size() == 9);  // keeps its generated token: recompute, not restart
  CHECK(s.preemptions() == 1);
  finish_step(s, plan);
  s.remove(pa);
  plan = s.schedule(Clock::now());
  REQUIRE(plan.batch.size() == 1);
  CHECK(plan.batch[0].seq == pb);
  CHECK(pb->num_computed == 8);  // its two full blocks were still cached: only the last token recomputes
  CHECK(plan.batch[0].num_tokens == 1);
  CHECK(plan.batch[0].sample);
  blocks.check_invariants();
}

TEST_CASE("engine scheduler: a sequence too big for the whole pool fails instead of looping") {
  BlockManager blocks(2, 4);
  Scheduler s(blocks, {.max_num_seqs = 8, .max_num_batched_tokens = 64});
  s.add(make_seq(1, test::prompt_of(12, 1), Clock::now(), 4));
  auto plan = s.schedule(Clock::now());
  REQUIRE(plan.failed.size() == 1);
  CHECK(plan.batch.empty());
  s.remove(plan.failed[0]);
  CHECK(s.empty());
  CHECK(blocks.num_used() == 0);
}

TEST_CASE("engine scheduler: cache-aware admission order with an age bound") {
  BlockManager blocks(64, 4);
  const auto sys = test::prompt_of(16, 9);
  {
    // Cache the system prompt.
    Scheduler warm(blocks, {.max_num_seqs = 8, .max_num_batched_tokens = 64});
    auto w = make_seq(100, sys, Clock::now(), 4);
    Sequence* pw = w.get();
    warm.add(std::move(w));
    finish_step(warm, warm.schedule(Clock::now()));
    warm.remove(pw);
  }
  auto with_sys = sys;
  with_sys.push_back(5);
  const auto t0 = Clock::now();
  for (int bound_ms : {10000, 0}) {
    Scheduler s(blocks, {.max_num_seqs = 1, .max_num_batched_tokens = 64,
                         .max_wait = std::chrono::milliseconds(bound_ms)});
    auto old_seq = make_seq(1, test::prompt_of(17, 1), t0, 4);
    auto hit_seq = make_seq(2, with_sys, t0 + std::chrono::milliseconds(1), 4);
    Sequence* p_old = old_seq.get();
    Sequence* p_hit = hit_seq.get();
    s.add(std::move(old_seq));
    s.add(std::move(hit_seq));
    auto plan = s.schedule(t0 + std::chrono::milliseconds(5));
    REQUIRE(plan.batch.size() == 1);
    CAPTURE(bound_ms);
    // Within the bound the cache hit goes first; past it, the oldest does.
    CHECK(plan.batch[0].seq == (bound_ms > 0 ? p_hit : p_old));
    if (bound_ms > 0) CHECK(plan.batch[0].num_tokens == 1);  // 16 of 17 tokens were cached
    s.remove(p_old);
    s.remove(p_hit);
  }
  CHECK(blocks.num_used() == 0);
  CHECK(blocks.hits() >= 4);
}

TEST_CASE("engine prefill budget: the smallest budget within 5% of the best") {
  std::vector<BudgetPoint> curve{{64, 0, 1000}, {128, 0, 1800}, {256, 0, 2900}, {512, 0, 3000}, {1024, 0, 2950}};
  CHECK(choose_prefill_budget(curve) == 256);  // 2900 >= 0.95 * 3000
  CHECK(choose_prefill_budget(curve, 0.0) == 512);
  CHECK(choose_prefill_budget({}) == 0);

  Model model = test::null_model();
  ExecutorOptions eo;
  eo.device = "null";
  eo.block_size = 16;
  eo.num_kv_blocks = 64;  // 1024 tokens: the sweep stops there
  auto ex = make_null_executor(model, eo);
  BlockManager blocks(64, 16);
  auto measured = measure_prefill_curve(*ex, blocks, 64, 8192);
  REQUIRE(!measured.empty());
  CHECK(measured.front().tokens == 64);
  CHECK(measured.back().tokens <= 1024);
  for (const auto& p : measured) CHECK(p.tokens_per_s > 0);
  const int32_t chosen = choose_prefill_budget(measured);
  CHECK(chosen >= 64);
  CHECK(chosen <= 1024);
  CHECK(blocks.num_used() == 0);
  CHECK(blocks.num_cached() == 0);  // scratch blocks are not cached
  blocks.check_invariants();
}

TEST_CASE("engine prefill workers measure their budget at start-up when none is given") {
  EngineOptions o = test::null_options(1, 1);
  o.max_num_batched_tokens = 0;
  auto e = make_engine(test::null_model(), o);
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  const int32_t prefill_budget = impl->workers()[0]->max_num_batched_tokens();
  CHECK(prefill_budget >= 64);
  CHECK(prefill_budget <= 8192);
  CHECK(impl->workers()[1]->max_num_batched_tokens() == 2048);
  CHECK(test::run_one(*e, test::make_request(test::prompt_of(300, 1), 3)).reason == FinishReason::Length);
}
