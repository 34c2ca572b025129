// Fault injection (--debug-fail-step): the spec parser, the failing decorator executor, and what the
// engine does when a worker's executor fails: its requests end with an Internal error, the others go
// on, the router avoids it, and no KV block stays held on any worker (transfers included).
#include <doctest/doctest.h>

#include <functional>
#include <thread>

#include "core/executor/step_fault.h"
#include "core/util/errors.h"
#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {

void check_no_blocks(Engine& e) {
  REQUIRE(wait_idle(e));
  for (const auto& w : e.stats().workers) CHECK(w.kv_blocks_used == 0);
}

const WorkerStats& worker(const EngineStats& s, const std::string& name) {
  for (const auto& w : s.workers) {
    if (w.name == name) return w;
  }
  FAIL("no worker " << name);
  return s.workers.front();
}

}  // namespace

TEST_CASE("engine_fault: --debug-fail-step specs") {
  auto one = parse_step_faults("worker-1:5");
  REQUIRE(one.size() == 1);
  CHECK(one[0].worker == "worker-1");
  CHECK(one[0].step == 5);
  auto two = parse_step_faults("prefill-0:1,decode-1:40");
  REQUIRE(two.size() == 2);
  CHECK(two[1].worker == "decode-1");
  CHECK(two[1].step == 40);
  for (const char* bad : {"", "worker-1", "worker-1:", ":3", "worker-1:0", "worker-1:-2", "worker-1:3x", "a:1,"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_step_faults(bad), ConfigError);
  }
  EngineOptions o = null_options(0, 0, 2);
  o.debug_fail_step = "worker-7:1";
  CHECK_THROWS_WITH_AS(make_engine(null_model(), o), doctest::Contains("worker-0, worker-1"), ConfigError);
}

TEST_CASE("engine_fault: the decorator passes steps through until the given one, then always throws") {
  register_null_executor_backend();
  ExecutorOptions eo;
  eo.device = "null";
  eo.num_kv_blocks = 8;
  auto inner = make_null_executor(null_model(), eo);
  FailingStepExecutor faulty(*inner, 3, "worker-0");
  const std::vector<int32_t> tokens = {1, 2, 3};
  const std::vector<int32_t> table = {0};
  SamplingParams sp;
  StepRequest req;
  SequenceWork w;
  w.seq_id = 1;
  w.tokens = tokens;
  w.block_table = table;
  w.sample = true;
  w.sampling = &sp;
  req.seqs.push_back(w);
  CHECK(faulty.step(req).sampled.size() == 1);
  CHECK(faulty.step(req).sampled.size() == 1);
  CHECK_THROWS_WITH(faulty.step(req), doctest::Contains("injected fault at step 3 of worker-0"));
  CHECK_THROWS(faulty.step(req));
  CHECK(faulty.kv_cache_info().num_blocks == 8);
  CHECK(faulty.kv_block_ptr(0, 1, true) == inner->kv_block_ptr(0, 1, true));
}

TEST_CASE("engine_fault: an aggregated worker fails; its requests error out, the other serves on") {
  SlowNull slow(1);  // keeps the requests in flight across a few steps
  EngineOptions o = null_options(0, 0, 2);
  o.router_mode = "round-robin";
  o.debug_fail_step = "worker-1:4";
  auto e = make_engine(null_model(), o);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 6; ++i) streams.push_back(submit(*e, make_request(prompt_of(20 + i, i), 40)));
  int errors = 0;
  for (auto& s : streams) {
    RunResult r = collect(*s);
    if (r.reason == FinishReason::Error) {
      ++errors;
      CHECK(s->error_kind() == ErrorKind::Internal);
      CHECK(r.error.find("injected fault at step 4 of worker-1") != std::string::npos);
      CHECK(r.tokens.size() < 40);
    } else {
      CHECK(r.reason == FinishReason::Length);
      CHECK(r.tokens.size() == 40);
    }
  }
  CHECK(errors == 3);  // round-robin: every other request was on worker-1
  CHECK_FALSE(e->healthy());
  CHECK(e->can_serve());
  const EngineStats st = e->stats();
  CHECK_FALSE(worker(st, "worker-1").healthy);
  CHECK(worker(st, "worker-1").error.find("injected fault") != std::string::npos);
  CHECK(worker(st, "worker-0").healthy);
  for (int i = 0; i < 6; ++i) CHECK(run_one(*e, make_request(prompt_of(10, 100 + i), 3)).reason == FinishReason::Length);
  check_no_blocks(*e);
}

TEST_CASE("engine_fault: the only worker fails; new requests get an Unavailable error naming it") {
  EngineOptions o = null_options();
  o.debug_fail_step = "worker-0:1";
  auto e = make_engine(null_model(), o);
  auto first = submit(*e, make_request(prompt_of(10, 1), 5));
  CHECK(collect(*first).reason == FinishReason::Error);
  CHECK(first->error_kind() == ErrorKind::Internal);
  CHECK_FALSE(e->can_serve());
  auto late = submit(*e, make_request(prompt_of(10, 2), 5));
  RunResult r = collect(*late);
  CHECK(r.reason == FinishReason::Error);
  CHECK(late->error_kind() == ErrorKind::Unavailable);
  CHECK(r.error.find("no healthy worker") != std::string::npos);
  CHECK(r.error.find("worker-0 is down: executor worker-0 failed") != std::string::npos);
  check_no_blocks(*e);
}

TEST_CASE("engine_fault: a prefill worker fails mid-transfer; the decode worker frees its reservation") {
  SlowNull slow(1);
  EngineOptions o = null_options(1, 1);
  o.max_num_batched_tokens = 16;  // a 100-token prompt takes 7 chunks, each sending its blocks
  o.debug_fail_step = "prefill-0:3";
  auto e = make_engine(null_model(), o);
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  RunResult r = run_one(*e, make_request(prompt_of(100, 1), 5));
  CHECK(r.reason == FinishReason::Error);
  CHECK(r.error.find("prefill-0") != std::string::npos);
  CHECK(r.tokens.empty());
  check_no_blocks(*e);  // decode-0 held 7 reserved blocks for the transfer
  CHECK(e->can_serve());
  for (int i = 0; i < 3; ++i) CHECK(run_one(*e, make_request(prompt_of(100, 10 + i), 5)).reason == FinishReason::Length);
  CHECK(impl->routing_counters().remote_prefills == 1);
  CHECK(impl->routing_counters().local_prefills == 3);
  check_no_blocks(*e);
}

TEST_CASE("engine_fault: a decode worker fails while a prefill fills its blocks; the stream ends at once") {
  SlowNull slow(2);
  EngineOptions o = null_options(1, 1);
  o.max_num_batched_tokens = 16;  // the 600-token prompt below takes ~38 prefill steps
  o.debug_fail_step = "decode-0:8";
  auto e = make_engine(null_model(), o);
  auto* impl = dynamic_cast<EngineImpl*>(e.get());
  auto a = submit(*e, make_request(prompt_of(20, 1), 100));
  std::vector<TokenOutput> got;
  REQUIRE(wait_for([&] { return a->drain(got) > 0 || !got.empty(); }));  // decoding on decode-0
  auto b = submit(*e, make_request(prompt_of(600, 2), 5));  // reserved on decode-0, prefilling
  RunResult ra = collect(*a);
  CHECK(ra.reason == FinishReason::Error);
  CHECK(ra.error.find("injected fault at step 8 of decode-0") != std::string::npos);
  RunResult rb = collect(*b);
  CHECK(rb.reason == FinishReason::Error);
  CHECK(b->error_kind() == ErrorKind::Internal);
  CHECK_FALSE(e->can_serve());
  check_no_blocks(*e);  // prefill-0's blocks and decode-0's reservation
  // The prefill worker stopped b's prefill when it saw decode-0 down, instead of finishing it.
  CHECK(impl->workers()[0]->completed_prefills() == 1);
  CHECK(impl->workers()[0]->outstanding() == 0);
}
