// Request lifecycle through the engine: stop conditions, submit-time errors, cached-token counts, and
// cancellation while waiting, during a remote prefill (with its transfer) and during decode.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {

// A stream that records the global step count when it finishes (on the engine's thread).
std::shared_ptr<RequestStream> steps_stream(std::atomic<int64_t>& finished_at) {
  auto s = std::make_shared<RequestStream>();
  RequestStream* raw = s.get();
  s->set_notifier([raw, &finished_at] {
    if (raw->finish_reason() != FinishReason::None && finished_at.load() < 0) finished_at = g_steps.load();
  });
  return s;
}

void check_no_blocks(Engine& e) {
  REQUIRE(wait_idle(e));
  for (const auto& w : e.stats().workers) CHECK(w.kv_blocks_used == 0);
}

}  // namespace

TEST_CASE("engine stop conditions: EOS, stop ids, ignore_eos, min_tokens, max_tokens") {
  const Model probe_model = null_model(50);
  auto probe = make_engine(probe_model, null_options());
  const auto prompt = prompt_of(20, 4, 50);
  RunResult free_run = run_one(*probe, make_request(prompt, 30));
  REQUIRE(free_run.tokens.size() == 30);
  CHECK(free_run.reason == FinishReason::Length);
  // Pick the token at index 5 as EOS; the run must stop there, without pushing it.
  const int32_t eos = free_run.tokens[5];
  const size_t first = static_cast<size_t>(std::find(free_run.tokens.begin(), free_run.tokens.end(), eos) - free_run.tokens.begin());
  auto e = make_engine(null_model(50, {eos}), null_options(1, 1));
  RunResult r = run_one(*e, make_request(prompt, 30));
  CHECK(r.reason == FinishReason::Stop);
  CHECK(r.tokens == std::vector<int32_t>(free_run.tokens.begin(), free_run.tokens.begin() + first));

  GenerationRequest ign = make_request(prompt, 30);
  ign.sampling.ignore_eos = true;
  CHECK(run_one(*e, ign).tokens == free_run.tokens);

  GenerationRequest stop_ids = make_request(prompt, 30);
  stop_ids.sampling.ignore_eos = true;
  stop_ids.stop_token_ids = {free_run.tokens[2]};
  r = run_one(*e, stop_ids);
  CHECK(r.reason == FinishReason::Stop);
  CHECK(r.tokens.size() <= 2);

  GenerationRequest min_tok = make_request(prompt, 30);
  min_tok.sampling.min_tokens = static_cast<int32_t>(first) + 1;  // EOS masked where it came first
  r = run_one(*e, min_tok);
  REQUIRE(r.tokens.size() > first);
  CHECK(r.tokens[first] != eos);

  CHECK(run_one(*e, make_request(prompt, 1)).tokens.size() == 1);  // the first token from the prefill worker
}

TEST_CASE("engine submit errors: empty, too long, bad token ids, too big for the KV cache") {
  Model m = null_model();
  EngineOptions o = null_options();
  o.max_model_len = 100;
  o.num_kv_blocks = 4;
  auto e = make_engine(m, o);
  CHECK(e->max_model_len() == 100);
  RunResult r = run_one(*e, make_request({}, 5));
  CHECK(r.reason == FinishReason::Error);
  CHECK(r.error.find("empty") != std::string::npos);
  r = run_one(*e, make_request(prompt_of(90, 1), 20));
  CHECK(r.reason == FinishReason::Error);
  CHECK(r.error.find("110") != std::string::npos);
  CHECK(r.error.find("100") != std::string::npos);
  r = run_one(*e, make_request({1, 2, 5000}, 5));
  CHECK(r.reason == FinishReason::Error);
  CHECK(r.error.find("5000") != std::string::npos);
  r = run_one(*e, make_request(prompt_of(60, 1), 10));  // 70 tokens > 4 blocks of 16
  CHECK(r.reason == FinishReason::Error);
  CHECK(r.error.find("KV blocks") != std::string::npos);
  r = run_one(*e, make_request(prompt_of(60, 1), 2));  // 62 tokens fit
  CHECK(r.reason == FinishReason::Length);
  CHECK(run_one(*e, make_request(prompt_of(5, 1), 0)).reason == FinishReason::Error);
}

TEST_CASE("engine cancel: while waiting, during remote prefill and transfer, during decode") {
  SlowNull slow(3);
  const Model model = null_model();
  EngineOptions o = null_options(1, 1);
  o.max_num_batched_tokens = 16;  // a 1500-token prompt prefills over 94 steps
  o.max_num_seqs = 1;
  auto e = make_engine(model, o);

  // During the remote prefill: the decode worker holds reserved blocks (AwaitingKv).
  std::atomic<int64_t> a_finished_at{-1}, b_finished_at{-1};
  auto a = steps_stream(a_finished_at);
  e->submit(make_request(prompt_of(1500, 1), 50), a);
  REQUIRE(wait_for([&] { return a->scheduled_at_ns() != 0; }));
  // A second request waits behind it on the decode worker (one sequence per worker).
  auto b = steps_stream(b_finished_at);
  e->submit(make_request(prompt_of(30, 2), 50), b);
  const int64_t steps_at_cancel = g_steps.load();
  a->cancel();
  RunResult ra = collect(*a);
  CHECK(ra.reason == FinishReason::Cancelled);
  CHECK(ra.tokens.empty());
  // The prefill worker finishes the step in flight, then answers; nothing else runs for `a`.
  CHECK(a_finished_at.load() - steps_at_cancel <= 2);

  // During decode: the decode worker finishes its step in flight and stops.
  std::vector<TokenOutput> got;
  REQUIRE(wait_for([&] { b->drain(got); return got.size() >= 2; }));
  const int64_t at = g_steps.load();
  b->cancel();
  RunResult rb = collect(*b);
  CHECK(rb.reason == FinishReason::Cancelled);
  CHECK(b_finished_at.load() - at <= 1);
  check_no_blocks(*e);

  // While waiting: c occupies the decode worker's only slot, d waits and is cancelled there.
  auto c = submit(*e, make_request(prompt_of(20, 3), 200));
  REQUIRE(wait_for([&] { return c->scheduled_at_ns() != 0; }));
  std::vector<TokenOutput> c_out;
  REQUIRE(wait_for([&] { c->drain(c_out); return !c_out.empty(); }));  // its prefill is answered
  auto d = submit(*e, make_request(prompt_of(20, 4), 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(d->scheduled_at_ns() == 0);
  d->cancel();
  CHECK(collect(*d).reason == FinishReason::Cancelled);
  // The same for a long prompt bound for the prefill pool: it leaves that pool's queue too.
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  auto f = submit(*e, make_request(prompt_of(300, 5), 5));
  CHECK(impl->workers()[0]->outstanding() == 1);
  f->cancel();
  CHECK(collect(*f).reason == FinishReason::Cancelled);
  CHECK(impl->workers()[0]->outstanding() == 0);
  CHECK(impl->routing_counters().remote_prefills == 5);  // a, b, c, d, f
  CHECK(c->finish_reason() == FinishReason::None);
  c->cancel();
  CHECK(collect(*c).reason == FinishReason::Cancelled);
  check_no_blocks(*e);
  for (const auto& w : e->stats().workers) CHECK(w.healthy);
}

TEST_CASE("engine cached tokens are reported on the stream") {
  auto e = make_engine(null_model(), null_options(1, 1));
  const auto p = prompt_of(100, 9);
  CHECK(run_one(*e, make_request(p, 2)).cached == 0);
  CHECK(run_one(*e, make_request(p, 2)).cached == 96);
}

TEST_CASE("engine KV transfer skips blocks the decode worker caches") {
  SlowNull counting(0);
  auto e = make_engine(null_model(), null_options(1, 1));
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  const auto p = prompt_of(100, 11);  // 6 full blocks and 4 tokens
  g_sent_blocks = 0;
  RunResult first = run_one(*e, make_request(p, 3));
  CHECK(g_sent_blocks.load() == 7);
  REQUIRE(wait_idle(*e));
  g_sent_blocks = 0;
  RunResult second = run_one(*e, make_request(p, 3));
  CHECK(impl->routing_counters().remote_prefills == 2);
  CHECK(g_sent_blocks.load() == 1);  // only the partial block: the decode worker holds the other six
  CHECK(second.tokens == first.tokens);
}

TEST_CASE("engine KV transfer in chunks skips blocks the decode worker caches") {
  SlowNull counting(0);
  EngineOptions o = null_options(2, 1);
  o.router_mode = "round-robin";  // the second request goes to the other prefill worker, cold
  o.max_num_batched_tokens = 16;  // so it prefills in 7 chunks
  auto e = make_engine(null_model(), o);
  const auto p = prompt_of(100, 12);
  g_sent_blocks = 0;
  RunResult first = run_one(*e, make_request(p, 3));
  CHECK(g_sent_blocks.load() == 7);  // chunks are block-aligned here: each block once
  REQUIRE(wait_idle(*e));
  g_sent_blocks = 0;
  RunResult second = run_one(*e, make_request(p, 3));
  CHECK(second.cached == 0);              // the cold prefill worker computed everything
  CHECK(g_sent_blocks.load() == 1);       // and sent only the block the decode worker lacks
  CHECK(second.tokens == first.tokens);
}

TEST_CASE("engine identity under preemption: a tiny KV pool with every request queued at once") {
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 24; ++i) reqs.push_back(make_request(prompt_of(20 + 13 * i, 300 + i), 20));
  std::vector<RunResult> ref;
  {
    auto roomy = make_engine(null_model(), null_options());
    for (const auto& r : reqs) ref.push_back(run_one(*roomy, r));
  }
  SlowNull gate(0);
  for (int prefill : {0, 1}) {
    CAPTURE(prefill);
    EngineOptions o = null_options(prefill, prefill);
    o.num_kv_blocks = 40;  // 640 tokens for about 4500
    o.max_num_batched_tokens = 48;
    auto e = make_engine(null_model(), o);
    g_gate_open = false;  // the first step waits until every request is queued behind it
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (const auto& r : reqs) streams.push_back(submit(*e, r));
    g_gate_open = true;
    for (size_t i = 0; i < reqs.size(); ++i) {
      CAPTURE(i);
      RunResult r = collect(*streams[i]);
      CHECK(r.reason == ref[i].reason);
      CHECK(r.tokens == ref[i].tokens);
    }
    auto* impl = dynamic_cast<EngineImpl*>(e.get());
    int64_t preemptions = 0;
    for (const auto& w : impl->workers()) preemptions += w->preemptions();
    CHECK(preemptions > 0);
    check_no_blocks(*e);
  }
}

TEST_CASE("engine executor failure: the worker's requests end with an error, new ones go elsewhere") {
  SlowNull faulty(0);
  {
    auto e = make_engine(null_model(), null_options());
    g_gate_open = false;
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 5; ++i) streams.push_back(submit(*e, make_request(prompt_of(30 + i, i), 50)));
    g_fail_at_step = g_steps.load() + 3;
    g_gate_open = true;
    for (auto& s : streams) {
      RunResult r = collect(*s);
      CHECK(r.reason == FinishReason::Error);
      CHECK(r.error.find("injected device fault") != std::string::npos);
    }
    CHECK_FALSE(e->healthy());
    RunResult late = run_one(*e, make_request(prompt_of(10, 1), 3));
    CHECK(late.reason == FinishReason::Error);
    CHECK(late.error.find("no healthy worker") != std::string::npos);
    REQUIRE(wait_idle(*e));
  }
  {
    // A failed prefill worker: its request errors out on the decode worker; later prompts prefill there.
    auto e = make_engine(null_model(), null_options(1, 1));
    g_fail_at_step = g_steps.load();  // the next step is the prefill worker's
    RunResult r = run_one(*e, make_request(prompt_of(100, 1), 3));
    CHECK(r.reason == FinishReason::Error);
    RunResult ok = run_one(*e, make_request(prompt_of(100, 2), 3));
    CHECK(ok.reason == FinishReason::Length);
    auto* impl = dynamic_cast<EngineImpl*>(e.get());
    CHECK(impl->routing_counters().local_prefills == 1);
    check_no_blocks(*e);
  }
}
