// KV-aware routing and conditional disaggregation: a prompt goes to the worker that caches its prefix,
// load breaks ties, short prompts stay on the decode worker, a backed-up prefill pool is bypassed.
#include <doctest/doctest.h>

#include "core/engine/block_hash.h"
#include "core/engine/kv_router.h"
#include "core/util/errors.h"
#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

TEST_CASE("engine router: overlap against load") {
  KvRouter r(RouterMode::Kv, 3, 16, 1.0, 1);
  const auto prompt = prompt_of(128, 1);
  std::vector<uint64_t> h;
  extend_block_hashes(prompt, 16, h);
  REQUIRE(h.size() == 8);
  for (int i = 0; i < 6; ++i) r.publish(2, {KvEvent::Kind::Stored, h[i]});
  const std::vector<int> ids{0, 1, 2};
  std::vector<WorkerLoad> loads(3);
  auto c = r.choose(ids, loads, h, 128);
  CHECK(c.worker == 2);
  CHECK(c.overlap_blocks == 6);
  CHECK(r.overlap(1, h) == 0);
  // A gap breaks the prefix: only leading blocks count.
  r.publish(1, {KvEvent::Kind::Stored, h[1]});
  CHECK(r.overlap(1, h) == 0);
  // Heavy load outweighs the overlap.
  loads[2].active_blocks = 100;
  CHECK(r.choose(ids, loads, h, 128).worker != 2);
  loads[2].active_blocks = 0;
  // Evicted blocks leave the index.
  r.publish(2, {KvEvent::Kind::Removed, h[0]});
  CHECK(r.overlap(2, h) == 0);
  // Unhealthy workers are skipped; none healthy: no choice.
  loads[0].healthy = loads[1].healthy = false;
  CHECK(r.choose(ids, loads, h, 128).worker == 2);
  loads[2].healthy = false;
  CHECK(r.choose(ids, loads, h, 128).worker == -1);
}

TEST_CASE("engine router: round-robin and random modes") {
  KvRouter rr(RouterMode::RoundRobin, 2, 16, 1.0, 1);
  std::vector<int> ids{0, 1};
  std::vector<WorkerLoad> loads(2);
  std::vector<uint64_t> h;
  CHECK(rr.choose(ids, loads, h, 10).worker != rr.choose(ids, loads, h, 10).worker);
  KvRouter rnd(RouterMode::Random, 2, 16, 1.0, 1);
  int seen[2] = {0, 0};
  for (int i = 0; i < 100; ++i) ++seen[rnd.choose(ids, loads, h, 10).worker];
  CHECK(seen[0] > 10);
  CHECK(seen[1] > 10);
  CHECK_THROWS_AS(parse_router_mode("nearest"), ConfigError);
}

TEST_CASE("engine routing: a request follows its cached prefix") {
  const Model model = null_model();
  EngineOptions o = null_options(0, 0, 4);
  auto e = make_engine(model, o);
  const auto sys = prompt_of(256, 7);
  REQUIRE(run_one(*e, make_request(sys, 4)).reason == FinishReason::Length);
  REQUIRE(wait_idle(*e));
  int holder = -1;
  for (size_t i = 0; i < e->stats().workers.size(); ++i) {
    if (e->stats().workers[i].kv_blocks_cached > 0) holder = static_cast<int>(i);
  }
  REQUIRE(holder >= 0);
  for (int k = 0; k < 6; ++k) {
    auto p = sys;
    auto q = prompt_of(10, 50 + k);
    p.insert(p.end(), q.begin(), q.end());
    RunResult r = run_one(*e, make_request(p, 4));
    CHECK(r.reason == FinishReason::Length);
    CHECK(r.cached == 256);  // all 16 blocks of the shared prefix were reused
  }
  const auto stats = e->stats();
  for (size_t i = 0; i < stats.workers.size(); ++i) {
    CAPTURE(i);
    if (static_cast<int>(i) == holder) {
      CHECK(stats.workers[i].prefix_hits >= 6 * 16);
    } else {
      CHECK(stats.workers[i].prefix_queries == 0);  // never got a request
    }
  }
}

TEST_CASE("engine routing: round-robin spreads a shared prefix") {
  const Model model = null_model();
  EngineOptions o = null_options(0, 0, 2);
  o.router_mode = "round-robin";
  auto e = make_engine(model, o);
  for (int k = 0; k < 4; ++k) run_one(*e, make_request(prompt_of(64, 3), 2));
  for (const auto& w : e->stats().workers) CHECK(w.prefix_queries > 0);
}

TEST_CASE("engine conditional disaggregation: short prompts stay local, long ones go remote") {
  const Model model = null_model();
  EngineOptions o = null_options(1, 1);
  o.max_local_prefill_length = 100;
  auto e = make_engine(model, o);
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  REQUIRE(impl != nullptr);
  CHECK(run_one(*e, make_request(prompt_of(40, 1), 3)).reason == FinishReason::Length);
  CHECK(impl->routing_counters().local_prefills == 1);
  CHECK(impl->routing_counters().remote_prefills == 0);
  CHECK(impl->workers()[0]->completed_prefills() == 0);

  const auto long_prompt = prompt_of(300, 2);
  CHECK(run_one(*e, make_request(long_prompt, 3)).reason == FinishReason::Length);
  CHECK(impl->routing_counters().remote_prefills == 1);
  CHECK(impl->workers()[0]->completed_prefills() == 1);

  // The same long prompt again: the decode worker caches all but 300 % 16 of it, so it stays local.
  REQUIRE(wait_idle(*e));
  RunResult again = run_one(*e, make_request(long_prompt, 3));
  CHECK(again.reason == FinishReason::Length);
  CHECK(impl->routing_counters().remote_prefills == 1);
  CHECK(impl->routing_counters().local_prefills == 2);
  CHECK(again.cached == 288);
}

TEST_CASE("engine conditional disaggregation: a backed-up prefill pool is bypassed") {
  const Model model = null_model();
  EngineOptions o = null_options(1, 1);
  o.max_prefill_queue = 0;  // more than zero queued remote prefills: go local
  o.num_kv_blocks = 4096;
  SlowNull gate(0);
  auto e = make_engine(model, o);
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  g_gate_open = false;  // the first remote prefill stays queued while the others arrive
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 50; ++i) streams.push_back(submit(*e, make_request(prompt_of(500, i), 2)));
  g_gate_open = true;
  for (auto& s : streams) CHECK(collect(*s).reason == FinishReason::Length);
  const auto c = impl->routing_counters();
  CHECK(c.remote_prefills == 1);
  CHECK(c.local_prefills == 49);
}
