// Bench workloads, request bodies, URL and sweep parsing: prompts have the asked length, shared
// prefixes are shared, ShareGPT files load, bodies pin the output length.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/tokenizer/tokenizer.h"

#include <simdjson.h>

#include "core/bench/request_body.h"
#include "core/bench/stream_client.h"
#include "core/bench/sweep.h"
#include "core/bench/word_list.h"
#include "core/bench/workload.h"
#include "core/util/errors.h"

using namespace dynamo::bench;

namespace {
std::vector<std::string> words_of(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}
}  // namespace

TEST_CASE("bench workload: synthetic prompts have isl words from the list, seeded") {
  WorkloadOptions o;
  o.isl = 100;
  o.osl = 7;
  o.seed = 5;
  auto reqs = make_workload(20, o);
  REQUIRE(reqs.size() == 20);
  std::set<std::string_view> vocab(word_list().begin(), word_list().end());
  std::set<std::string> firsts;
  for (const auto& r : reqs) {
    auto w = words_of(r.prompt);
    CHECK(w.size() == 100);
    for (const auto& x : w) CHECK(vocab.count(x) == 1);
    CHECK(r.osl == 7);
    CHECK(r.expected_isl == 100);
    firsts.insert(w[0] + " " + w[1] + " " + w[2]);
  }
  CHECK(firsts.size() == 20);  // distinct prompts: no accidental prefix sharing
  auto again = make_workload(20, o);
  CHECK(again[3].prompt == reqs[3].prompt);
  o.seed = 6;
  CHECK(make_workload(20, o)[3].prompt != reqs[3].prompt);
}

TEST_CASE("bench workload: length spread is clamped to >= 1 and averages near the mean") {
  WorkloadOptions o;
  o.isl = 50;
  o.osl = 20;
  o.isl_stddev = 10;
  o.osl_stddev = 30;
  auto reqs = make_workload(2000, o);
  double sum = 0;
  for (const auto& r : reqs) {
    CHECK(r.osl >= 1);
    sum += static_cast<double>(words_of(r.prompt).size());
  }
  CHECK(sum / 2000 == doctest::Approx(50).epsilon(0.03));
}

TEST_CASE("bench workload: shared prefixes") {
  WorkloadOptions o;
  o.isl = 10;
  o.osl = 4;
  o.prefix_len = 30;
  o.num_prefixes = 3;
  auto reqs = make_workload(9, o);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto w = words_of(reqs[i].prompt);
    CHECK(w.size() == 40);
    CHECK(reqs[i].expected_isl == 40);
    auto other = words_of(reqs[(i + 3) % 9].prompt);  // same prefix group
    CHECK(std::equal(w.begin(), w.begin() + 30, other.begin()));
    CHECK(!std::equal(w.begin() + 30, w.end(), other.begin() + 30));
  }
  CHECK(words_of(reqs[0].prompt)[0] + words_of(reqs[0].prompt)[1] + words_of(reqs[0].prompt)[2] !=
        words_of(reqs[1].prompt)[0] + words_of(reqs[1].prompt)[1] + words_of(reqs[1].prompt)[2]);
}

TEST_CASE("bench workload: ShareGPT file") {
  const auto path = std::filesystem::temp_directory_path() / "bench_sharegpt_test.json";
  {
    std::ofstream f(path);
    f << R"([{"id":"a","conversations":[{"from":"human","value":"What is two plus two?"},{"from":"gpt","value":"It is four, of course."}]},
             {"id":"b","conversations":[{"from":"gpt","value":"starts wrong"},{"from":"human","value":"x"}]},
             {"id":"c","conversations":[{"from":"human","value":"only one turn"}]},
             {"id":"d","conversations":[{"from":"human","value":"Hello there"},{"from":"gpt","value":"Hi!"},{"from":"human","value":"more"}]}])";
  }
  WorkloadOptions o;
  o.kind = DatasetKind::kShareGpt;
  o.dataset_path = path;
  o.osl = 0;
  auto reqs = make_workload(5, o);
  REQUIRE(reqs.size() == 5);
  std::set<std::string> prompts;
  for (const auto& r : reqs) {
    prompts.insert(r.prompt);
    if (r.prompt == "Hello there") CHECK(r.osl == estimate_tokens("Hi!"));
    else CHECK(r.osl == estimate_tokens("It is four, of course."));
  }
  CHECK(prompts == std::set<std::string>{"What is two plus two?", "Hello there"});
  o.osl = 9;
  CHECK(make_workload(1, o)[0].osl == 9);
  {
    std::ofstream f(path);
    f << R"({"not":"a list"})";
  }
  CHECK_THROWS_AS(make_workload(1, o), dynamo::ConfigError);
  o.dataset_path = path.string() + ".missing";
  CHECK_THROWS_AS(make_workload(1, o), dynamo::ConfigError);
  std::filesystem::remove(path);
}

TEST_CASE("bench request body: pins the output length and asks for usage") {
  BenchRequest r;
  r.prompt = "say \"hi\"\n";
  r.osl = 12;
  for (auto kind : {EndpointKind::kCompletions, EndpointKind::kChat}) {
    const std::string body = make_request_body(r, kind, "m");
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    REQUIRE(!p.parse(body).get(doc));
    CHECK(doc["max_tokens"].get_int64().value() == 12);
    CHECK(doc["min_tokens"].get_int64().value() == 12);
    CHECK(doc["ignore_eos"].get_bool().value());
    CHECK(doc["stream"].get_bool().value());
    CHECK(doc["stream_options"]["include_usage"].get_bool().value());
    CHECK(doc["model"].get_string().value() == "m");
    if (kind == EndpointKind::kChat)
      CHECK(doc["messages"].at(0)["content"].get_string().value() == r.prompt);
    else
      CHECK(doc["prompt"].get_string().value() == r.prompt);
  }
  r.prompt_ids = {1, 2, 3};
  const std::string ids = make_request_body(r, EndpointKind::kCompletions, "m");
  CHECK(ids.find("\"prompt\":[1,2,3]") != std::string::npos);
  CHECK_THROWS_AS(make_request_body(r, EndpointKind::kChat, "m"), dynamo::ConfigError);
}

TEST_CASE("bench url and sweep parsing") {
  auto ep = parse_url("http://localhost:8000");
  CHECK(ep.host == "localhost");
  CHECK(ep.port == "8000");
  CHECK(ep.base_path.empty());
  CHECK(parse_url("http://h:1/v1/").base_path.empty());
  CHECK(parse_url("http://h/api/v1").base_path == "/api");
  CHECK(parse_url("http://h/api").port == "80");
  CHECK(parse_url("http://[::1]:9000").host == "::1");
  CHECK_THROWS_AS(parse_url("https://h"), dynamo::ConfigError);
  CHECK_THROWS_AS(parse_url("h:80"), dynamo::ConfigError);
  CHECK_THROWS_AS(parse_url("http://h:x"), dynamo::ConfigError);

  auto s = parse_sweep("concurrency=1,4,16");
  CHECK(s.param == SweepParam::kConcurrency);
  CHECK(s.values == std::vector<double>{1, 4, 16});
  auto r = parse_sweep("request-rate=0.5,2,inf");
  CHECK(r.param == SweepParam::kRequestRate);
  CHECK(r.values.size() == 3);
  CHECK(std::isinf(r.values[2]));
  CHECK_THROWS_AS(parse_sweep("concurrency=1.5"), dynamo::ConfigError);
  CHECK_THROWS_AS(parse_sweep("concurrency="), dynamo::ConfigError);
  CHECK_THROWS_AS(parse_sweep("threads=1"), dynamo::ConfigError);
  CHECK_THROWS_AS(parse_sweep("concurrency=1,,2"), dynamo::ConfigError);
  CHECK_THROWS_AS(parse_sweep("request-rate=-1"), dynamo::ConfigError);
}

namespace {
// A tokenizer stand-in: 100 ids, 0-2 and 99 special; a word is one token.
class WordTokenizer : public dynamo::Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    for (const auto& w : words_of(std::string(text))) ids.push_back(static_cast<int32_t>(3 + w.size() % 90));
    return ids;
  }
  std::string decode(const std::vector<int32_t>&, bool) const override { return ""; }
  std::string token_to_piece(int32_t) const override { return ""; }
  int64_t vocab_size() const override { return 100; }
  bool is_special(int32_t id) const override { return id < 3 || id == 99; }
  std::optional<int32_t> token_to_id(std::string_view) const override { return std::nullopt; }
  std::optional<int32_t> bos_id() const override { return 1; }
  std::vector<int32_t> eos_ids() const override { return {2}; }
  std::string bos_token() const override { return ""; }
  std::string eos_token() const override { return ""; }
  std::string chat_template() const override { return ""; }
};
}  // namespace

TEST_CASE("bench workload: --tokenizer gives exact token-id prompts without special ids") {
  WordTokenizer tok;
  WorkloadOptions o;
  o.isl = 37;
  o.osl = 5;
  o.prefix_len = 20;
  o.num_prefixes = 2;
  o.tokenizer = &tok;
  auto reqs = make_workload(6, o);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& r = reqs[i];
    CHECK(r.prompt.empty());
    REQUIRE(r.prompt_ids.size() == 57);
    CHECK(r.expected_isl == 57);
    for (int32_t id : r.prompt_ids) CHECK(!tok.is_special(id));
    CHECK(std::equal(r.prompt_ids.begin(), r.prompt_ids.begin() + 20, reqs[(i + 2) % 6].prompt_ids.begin()));
  }
  CHECK(make_request_body(reqs[0], EndpointKind::kCompletions, "m").find("\"prompt\":[") != std::string::npos);

  // ShareGPT lengths come from the tokenizer when there is one.
  const auto path = std::filesystem::temp_directory_path() / "bench_sharegpt_tok.json";
  {
    std::ofstream f(path);
    f << R"([{"conversations":[{"from":"human","value":"a b c"},{"from":"gpt","value":"one two three four five six seven"}]}])";
  }
  WorkloadOptions s;
  s.kind = DatasetKind::kShareGpt;
  s.dataset_path = path;
  s.osl = 0;
  s.tokenizer = &tok;
  auto sg = make_workload(2, s);
  CHECK(sg[0].expected_isl == 3);
  CHECK(sg[0].osl == 7);
  CHECK(sg[0].prompt == "a b c");
  std::filesystem::remove(path);
}
