// Output identity through the engine with the real CPU reference executor on a tiny random model:
// greedy tokens are the same aggregated or disaggregated, alone or batched, chunked, preempted, and
// after a prefix-cache hit. Skips (with a message) while this build has only the CPU executor stub.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/util/errors.h"
#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {

Model tiny_cpu_model() {
  Model m;
  ModelConfig& c = m.config;
  c.arch = Architecture::Llama;
  c.vocab_size = 97;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.rotary_dim = 16;
  c.max_position_embeddings = 256;
  c.eos_token_ids = {2};
  m.dummy = true;
  m.dummy_seed = 11;
  return m;
}

EngineOptions cpu_options(int prefill, int decode, int workers = 1) {
  EngineOptions o = null_options(prefill, decode, workers);
  o.device = "cpu";
  o.cpu_threads = 1;
  o.kv_block_size = 4;
  o.num_kv_blocks = 256;
  o.max_num_batched_tokens = 64;
  return o;
}

std::unique_ptr<Engine> try_cpu_engine(const Model& m, const EngineOptions& o) {
  try {
    return make_engine(m, o);
  } catch (const ConfigError& e) {
    if (std::string(e.what()).find("not built") != std::string::npos) return nullptr;
    throw;
  }
}

std::vector<RunResult> run_all(Engine& e, const std::vector<GenerationRequest>& reqs, bool batched) {
  std::vector<RunResult> out;
  if (!batched) {
    for (const auto& r : reqs) out.push_back(run_one(e, r));
    return out;
  }
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& r : reqs) streams.push_back(submit(e, r));
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

}  // namespace

TEST_CASE("engine with the CPU executor: greedy output identical across placements") {
  const Model model = tiny_cpu_model();
  auto ref_engine = try_cpu_engine(model, cpu_options(0, 0));
  if (!ref_engine) {
    MESSAGE("skipped: this build has no CPU executor yet");
    return;
  }
  std::vector<GenerationRequest> reqs;
  const auto shared = prompt_of(24, 1, 97);
  int seed = 0;
  for (int len : {1, 3, 4, 5, 17, 40, 61}) reqs.push_back(make_request(prompt_of(len, ++seed, 97), 10));
  for (int i = 0; i < 3; ++i) {
    auto p = shared;
    auto q = prompt_of(3 + 4 * i, 50 + i, 97);
    p.insert(p.end(), q.begin(), q.end());
    reqs.push_back(make_request(p, 8));
  }
  for (auto& r : reqs) r.sampling.ignore_eos = true;  // full-length outputs compare more tokens

  const auto ref = run_all(*ref_engine, reqs, false);
  for (const auto& r : ref) REQUIRE(r.tokens.size() > 0);
  const auto again = run_all(*ref_engine, reqs, false);
  check_same(ref, again, "aggregated, prefix-cache hits");
  CHECK(again[6].cached == 60);
  check_same(ref, run_all(*ref_engine, reqs, true), "aggregated, batched");
  ref_engine.reset();

  auto dis = try_cpu_engine(model, cpu_options(1, 1));
  check_same(ref, run_all(*dis, reqs, false), "1P1D alone");
  check_same(ref, run_all(*dis, reqs, true), "1P1D batched, cached");
  dis.reset();

  EngineOptions small = cpu_options(2, 1);
  small.max_num_batched_tokens = 8;  // chunked prefill, transfers over several steps
  small.num_kv_blocks = 40;          // preemption on the decode worker
  auto e = try_cpu_engine(model, small);
  check_same(ref, run_all(*e, reqs, true), "2P1D chunked, small pool");
  REQUIRE(wait_idle(*e));
  for (const auto& w : e->stats().workers) CHECK(w.kv_blocks_used == 0);
}

TEST_CASE("engine with the CPU executor: generated tiny models, aggregated vs disaggregated") {
  for (const char* name : {"llama_gqa_f32", "qwen3_qknorm_bf16"}) {
    CAPTURE(name);
    const std::filesystem::path dir = std::filesystem::path(DYNAMO_TEST_DATA) / "generated" / name;
    if (!std::filesystem::exists(dir / "config.json")) {
      MESSAGE("skipped: run scripts/make_test_models.sh to write " << dir.string());
      continue;
    }
    const Model model = load_model(dir);
    EngineOptions agg = cpu_options(0, 0);
    agg.kv_block_size = 8;
    auto ref_engine = try_cpu_engine(model, agg);
    if (!ref_engine) {
      MESSAGE("skipped: this build has no CPU executor yet");
      return;
    }
    const int vocab = static_cast<int>(model.config.vocab_size);
    std::vector<GenerationRequest> reqs;
    for (int len : {2, 9, 33, 70}) reqs.push_back(make_request(prompt_of(len, len, vocab), 8));
    for (auto& r : reqs) r.sampling.ignore_eos = true;
    const auto ref = run_all(*ref_engine, reqs, false);
    check_same(ref, run_all(*ref_engine, reqs, true), "aggregated, batched, cached");
    ref_engine.reset();
    EngineOptions dis = cpu_options(1, 1);
    dis.kv_block_size = 8;
    dis.max_num_batched_tokens = 16;
    auto e = try_cpu_engine(model, dis);
    check_same(ref, run_all(*e, reqs, true), "1P1D batched, chunked");
    check_same(ref, run_all(*e, reqs, false), "1P1D alone, cached");
  }
}
