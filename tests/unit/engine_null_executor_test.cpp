// The null executor: deterministic tokens from the KV it reads back, and it catches bad block tables.
#include <doctest/doctest.h>

#include "core/executor/null_executor.h"
#include "engine_test_util.h"

using namespace dynamo;

namespace {

SequenceWork work(int64_t id, std::span<const int32_t> tokens, int32_t cached, std::span<const int32_t> table,
                  const SamplingParams* sp) {
  SequenceWork w;
  w.seq_id = id;
  w.tokens = tokens;
  w.num_cached = cached;
  w.block_table = table;
  w.sample = true;
  w.sampling = sp;
  return w;
}

}  // namespace

TEST_CASE("engine null executor: chunked equals whole, transfer preserves the context") {
  Model model = test::null_model();
  ExecutorOptions eo;
  eo.device = "null";
  eo.block_size = 4;
  eo.num_kv_blocks = 16;
  auto a = make_null_executor(model, eo);
  auto b = make_null_executor(model, eo);
  SamplingParams greedy;
  greedy.temperature = 0;
  std::vector<int32_t> prompt = test::prompt_of(10, 1);
  std::vector<int32_t> t1{0, 1, 2};
  StepRequest whole;
  whole.seqs.push_back(work(1, prompt, 0, t1, &greedy));
  const int32_t tok_whole = a->step(whole).sampled.at(0).token;

  // The same prompt in two chunks into other blocks.
  std::vector<int32_t> t2{5, 7, 9};
  StepRequest c1, c2;
  c1.seqs.push_back(work(2, std::span<const int32_t>(prompt).subspan(0, 6), 0, t2, &greedy));
  c1.seqs[0].sample = false;
  CHECK(a->step(c1).sampled.empty());
  c2.seqs.push_back(work(2, std::span<const int32_t>(prompt).subspan(6), 6, t2, &greedy));
  CHECK(a->step(c2).sampled.at(0).token == tok_whole);

  // Copied to another executor (other block ids), the next step there sees the same context.
  std::vector<int32_t> t3{3, 4, 8};
  a->copy_kv_blocks(*b, t2, t3);
  std::vector<int32_t> next{tok_whole};
  StepRequest d1, d2;
  d1.seqs.push_back(work(3, next, 10, t3, &greedy));
  d2.seqs.push_back(work(1, next, 10, t1, &greedy));
  CHECK(b->step(d1).sampled.at(0).token == a->step(d2).sampled.at(0).token);

  // A different prompt gives (almost surely) a different token.
  std::vector<int32_t> other = prompt;
  other[0] = (other[0] + 1) % 1000;
  StepRequest o;
  o.seqs.push_back(work(4, other, 0, t1, &greedy));
  CHECK(a->step(o).sampled.at(0).token != tok_whole);
}

TEST_CASE("engine null executor: an unwritten or misplaced slot throws") {
  Model model = test::null_model();
  ExecutorOptions eo;
  eo.device = "null";
  eo.block_size = 4;
  eo.num_kv_blocks = 8;
  auto a = make_null_executor(model, eo);
  SamplingParams greedy;
  greedy.temperature = 0;
  std::vector<int32_t> tok{7};
  std::vector<int32_t> table{0, 1};
  StepRequest r;
  r.seqs.push_back(work(1, tok, 5, table, &greedy));  // claims 5 cached positions never written
  CHECK_THROWS(a->step(r));
  std::vector<int32_t> short_table{0};
  StepRequest s;
  s.seqs.push_back(work(1, tok, 4, short_table, &greedy));  // table too short for position 4
  CHECK_THROWS(a->step(s));
}

TEST_CASE("engine null executor: a send plan ships whole blocks layer by layer") {
  Model model = test::null_model();
  ExecutorOptions eo;
  eo.device = "null";
  eo.block_size = 4;
  eo.num_kv_blocks = 8;
  auto p = make_null_executor(model, eo);
  auto d = make_null_executor(model, eo);
  SamplingParams greedy;
  greedy.temperature = 0;
  std::vector<int32_t> prompt = test::prompt_of(8, 3);
  std::vector<int32_t> src{1, 2}, dst{6, 5};
  KvSendPlan plan{d.get(), src, dst};
  StepRequest r;
  r.seqs.push_back(work(1, prompt, 0, src, &greedy));
  r.seqs[0].send = &plan;
  const int32_t first = p->step(r).sampled.at(0).token;
  std::vector<int32_t> next{first};
  StepRequest on_p, on_d;
  on_p.seqs.push_back(work(1, next, 8, std::vector<int32_t>{1, 2, 3}, &greedy));
  std::vector<int32_t> src3{1, 2, 3}, dst3{6, 5, 4};
  on_p.seqs[0].block_table = src3;
  on_d.seqs.push_back(work(2, next, 8, dst3, &greedy));
  CHECK(p->step(on_p).sampled.at(0).token == d->step(on_d).sampled.at(0).token);
}
