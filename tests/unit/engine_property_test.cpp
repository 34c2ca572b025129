// Randomized property test: thousands of requests of random lengths over tiny KV pools (preemption),
// disaggregated and local prefills mixed, random stop ids and random cancels from another thread.
// Every request must end (Stop, Length or Cancelled), finished ones must match a reference run, and
// once idle no worker may hold a block.
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>

#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

TEST_CASE("engine property: random workload with cancels leaks nothing and loses nothing") {
  const Model model = null_model(500, {7});
  std::mt19937 rng(2024);
  const int kRequests = 2000;
  std::vector<GenerationRequest> reqs;
  const auto shared = prompt_of(48, 5, 500);
  for (int i = 0; i < kRequests; ++i) {
    const int len = 1 + static_cast<int>(rng() % 200);
    std::vector<int32_t> p;
    if (rng() % 3 == 0) p.assign(shared.begin(), shared.begin() + std::min<int>(len, 48));
    auto tail = prompt_of(len - static_cast<int>(p.size()), 1000 + i, 500);
    p.insert(p.end(), tail.begin(), tail.end());
    if (p.empty()) p.push_back(1);
    GenerationRequest r = make_request(p, 1 + static_cast<int32_t>(rng() % 40));
    if (rng() % 4 == 0) r.stop_token_ids = {static_cast<int32_t>(rng() % 500)};
    if (rng() % 5 == 0) r.sampling.ignore_eos = true;
    if (rng() % 3 == 0) {
      r.sampling.temperature = 1.0f;
      r.sampling.seed = rng();
    }
    reqs.push_back(std::move(r));
  }

  // Reference: one roomy aggregated worker.
  std::vector<RunResult> ref;
  {
    EngineOptions o = null_options();
    o.num_kv_blocks = 8192;
    o.max_num_batched_tokens = 4096;
    auto e = make_engine(model, o);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (const auto& r : reqs) streams.push_back(submit(*e, r));
    for (auto& s : streams) ref.push_back(collect(*s));
  }

  EngineOptions o = null_options(2, 2);
  o.num_kv_blocks = 40;  // 320 tokens of KV per worker: constant preemption
  o.kv_block_size = 8;
  o.max_num_seqs = 12;
  o.max_num_batched_tokens = 64;
  o.max_local_prefill_length = 64;  // short prompts local, long ones remote
  o.max_prefill_queue = 16;
  o.max_wait_ms = 50;
  auto e = make_engine(model, o);

  std::vector<std::shared_ptr<RequestStream>> streams(kRequests);
  for (auto& s : streams) {
    s = std::make_shared<RequestStream>();
    s->set_notifier([] {});
  }
  std::atomic<int> submitted{0};
  auto submitter = [&](int part) {
    for (int i = part; i < kRequests; i += 2) {
      e->submit(reqs[i], streams[i]);
      submitted.fetch_add(1);
    }
  };
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    std::mt19937 r2(99);
    while (!done.load()) {
      const int n = submitted.load();
      if (n > 0) {
        const int i = static_cast<int>(r2() % static_cast<unsigned>(kRequests));
        if (i < n + 64 && r2() % 5 == 0) streams[i]->cancel();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  std::thread s0(submitter, 0), s1(submitter, 1);
  s0.join();
  s1.join();
  std::vector<RunResult> got;
  for (auto& s : streams) got.push_back(collect(*s));
  done = true;
  canceller.join();

  int cancelled = 0, finished = 0;
  for (int i = 0; i < kRequests; ++i) {
    CAPTURE(i);
    const RunResult& g = got[i];
    REQUIRE(g.reason != FinishReason::None);  // nothing lost
    CHECK(g.reason != FinishReason::Error);
    if (g.reason == FinishReason::Cancelled) {
      ++cancelled;
      // What was produced before the cancel is a prefix of the reference.
      REQUIRE(g.tokens.size() <= ref[i].tokens.size());
      CHECK(std::equal(g.tokens.begin(), g.tokens.end(), ref[i].tokens.begin()));
    } else {
      ++finished;
      CHECK(g.reason == ref[i].reason);
      CHECK(g.tokens == ref[i].tokens);
      if (g.tokens != ref[i].tokens && getenv("ENGINE_DEBUG")) {
        fprintf(stderr, "i=%d len=%zu max=%d temp=%.1f ign=%d stop=%d reason=%s/%s\n", i, reqs[i].prompt.size(),
                reqs[i].max_tokens, reqs[i].sampling.temperature, reqs[i].sampling.ignore_eos,
                reqs[i].stop_token_ids.empty() ? -1 : reqs[i].stop_token_ids[0], finish_reason_name(g.reason),
                finish_reason_name(ref[i].reason));
        for (auto t : g.tokens) fprintf(stderr, "%d ", t);
        fprintf(stderr, "\n");
        for (auto t : ref[i].tokens) fprintf(stderr, "%d ", t);
        fprintf(stderr, "\n");
      }
    }
  }
  MESSAGE("finished " << finished << ", cancelled " << cancelled);
  CHECK(cancelled > 0);
  CHECK(finished > 0);
  CHECK(wait_idle(*e));
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  int64_t preemptions = 0;
  for (const auto& w : impl->workers()) preemptions += w->preemptions();
  CHECK(preemptions > 0);
  CHECK(impl->routing_counters().local_prefills > 0);
  CHECK(impl->routing_counters().remote_prefills > 0);
  for (const auto& w : impl->workers()) CHECK(w->outstanding() == 0);  // the prefill pool's queue drained
  for (const auto& w : e->stats().workers) {
    CAPTURE(w.name);
    CHECK(w.kv_blocks_used == 0);
    CHECK(w.running == 0);
    CHECK(w.waiting == 0);
    CHECK(w.healthy);
  }
}

TEST_CASE("engine property: shutdown with requests in flight cancels them all") {
  const Model model = null_model();
  EngineOptions o = null_options(1, 1);
  o.num_kv_blocks = 64;
  auto e = make_engine(model, o);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 200; ++i) streams.push_back(submit(*e, make_request(prompt_of(50 + i, i), 300)));
  e->shutdown();
  for (auto& s : streams) {
    RunResult r = collect(*s);
    CHECK((r.reason == FinishReason::Cancelled || r.reason == FinishReason::Length));
  }
  auto late = submit(*e, make_request(prompt_of(5, 1), 4));
  CHECK(collect(*late).reason == FinishReason::Error);
  CHECK_FALSE(e->healthy());
}
