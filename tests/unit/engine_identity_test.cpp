// Output identity through the whole engine with the checking null executor: a request gives the same
// tokens aggregated or disaggregated, alone or batched, chunked, preempted, or after a prefix-cache hit.
#include <doctest/doctest.h>

#include <map>

#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {

std::vector<GenerationRequest> workload() {
  std::vector<GenerationRequest> out;
  const int lens[] = {1, 2, 15, 16, 17, 31, 32, 33, 100, 257, 600};
  int seed = 0;
  for (int n : lens) {
    out.push_back(make_request(prompt_of(n, ++seed), 24));
    GenerationRequest sampled = make_request(prompt_of(n, ++seed), 9);
    sampled.sampling.temperature = 0.8f;
    sampled.sampling.seed = 1234 + seed;
    out.push_back(sampled);
  }
  // Shared prefixes: the same 64-token system prompt with different questions.
  const auto sys = prompt_of(64, 99);
  for (int i = 0; i < 4; ++i) {
    auto p = sys;
    auto q = prompt_of(5 + i * 7, 200 + i);
    p.insert(p.end(), q.begin(), q.end());
    out.push_back(make_request(p, 12));
  }
  return out;
}

std::vector<RunResult> run_alone(Engine& e, const std::vector<GenerationRequest>& reqs) {
  std::vector<RunResult> out;
  for (const auto& r : reqs) out.push_back(run_one(e, r));
  return out;
}

std::vector<RunResult> run_batched(Engine& e, const std::vector<GenerationRequest>& reqs) {
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& r : reqs) streams.push_back(submit(e, r));
  std::vector<RunResult> out;
  for (auto& s : streams) out.push_back(collect(*s));
  return out;
}

void check_same(const std::vector<RunResult>& ref, const std::vector<RunResult>& got, const char* what) {
  REQUIRE(ref.size() == got.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    CAPTURE(what);
    CAPTURE(i);
    CHECK(got[i].error == "");
    CHECK(got[i].reason == ref[i].reason);
    CHECK(got[i].tokens == ref[i].tokens);
  }
}

void check_drained(Engine& e) {
  CHECK(wait_idle(e));
  for (const auto& w : e.stats().workers) {
    CAPTURE(w.name);
    CHECK(w.kv_blocks_used == 0);
    CHECK(w.healthy);
  }
}

}  // namespace

TEST_CASE("engine identity: aggregated, disaggregated, batched, chunked, preempted, cached") {
  const Model model = null_model();
  const auto reqs = workload();

  auto ref_engine = make_engine(model, null_options());
  const auto ref = run_alone(*ref_engine, reqs);
  for (const auto& r : ref) {
    REQUIRE(r.reason == FinishReason::Length);
    REQUIRE(!r.tokens.empty());
  }
  // Again on the same engine: now every prompt hits the prefix cache.
  const auto cached = run_alone(*ref_engine, reqs);
  check_same(ref, cached, "aggregated, prefix-cache hits");
  CHECK(cached[20].cached >= 592);  // the 600-token prompt: all its full blocks but the last token's
  check_same(ref, run_batched(*ref_engine, reqs), "aggregated, batched");
  check_drained(*ref_engine);

  {
    auto e = make_engine(model, null_options(1, 1));
    check_same(ref, run_alone(*e, reqs), "1P1D alone");
    check_same(ref, run_alone(*e, reqs), "1P1D alone, cached on both sides");
    check_same(ref, run_batched(*e, reqs), "1P1D batched");
    auto* impl = dynamic_cast<EngineImpl*>(e.get());
    REQUIRE(impl != nullptr);
    CHECK(impl->routing_counters().local_prefills == 0);
    CHECK(impl->routing_counters().remote_prefills == static_cast<int64_t>(3 * reqs.size()));
    check_drained(*e);
  }
  {
    EngineOptions o = null_options(2, 2);
    o.max_num_batched_tokens = 32;  // chunked prefill, transfers spread over several steps
    auto e = make_engine(model, o);
    check_same(ref, run_batched(*e, reqs), "2P2D batched, chunked");
    check_same(ref, run_batched(*e, reqs), "2P2D batched, chunked, cached");
    check_drained(*e);
  }
  {
    EngineOptions o = null_options();
    o.num_kv_blocks = 48;  // 768 tokens: the batch cannot fit, sequences get preempted and recomputed
    o.max_num_batched_tokens = 64;
    auto e = make_engine(model, o);
    check_same(ref, run_batched(*e, reqs), "aggregated, tiny KV pool");
    auto* impl = dynamic_cast<EngineImpl*>(e.get());
    int64_t preemptions = 0;
    for (const auto& w : impl->workers()) preemptions += w->preemptions();
    MESSAGE("preemptions with the tiny pool: " << preemptions);  // asserted where timing is controlled
    check_drained(*e);
  }
  {
    EngineOptions o = null_options(1, 2);
    o.num_kv_blocks = 64;
    o.max_num_seqs = 4;
    auto e = make_engine(model, o);
    check_same(ref, run_batched(*e, reqs), "1P2D, small pools, 4 seqs per worker");
    check_drained(*e);
  }
}
