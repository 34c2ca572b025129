// Prompt generation for the bench workloads (see workload.h): random words from a fixed list of
// one-token words, random non-special token ids, ShareGPT conversations, shared prefixes.
#include "core/bench/workload.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <simdjson.h>

#include "core/bench/word_list.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"

namespace dynamo::bench {
namespace {

int64_t sample_length(std::mt19937_64& rng, int64_t mean, double stddev) {
  if (stddev <= 0) return std::max<int64_t>(1, mean);
  std::normal_distribution<double> d(static_cast<double>(mean), stddev);
  return std::max<int64_t>(1, std::llround(d(rng)));
}

// Random piece of exactly `n` units: words (text) or non-special token ids.
class PieceMaker {
 public:
  PieceMaker(std::mt19937_64& rng, const Tokenizer* tok) : rng_(rng), tok_(tok) {
    if (tok_) {
      for (int64_t id = 0; id < tok_->vocab_size(); ++id)
        if (!tok_->is_special(static_cast<int32_t>(id))) ids_.push_back(static_cast<int32_t>(id));
      if (ids_.empty()) throw ConfigError("--tokenizer: the tokenizer has no ordinary tokens");
    }
  }
  void append_words(std::string& out, int64_t n) {
    auto words = word_list();
    std::uniform_int_distribution<size_t> pick(0, words.size() - 1);
    for (int64_t i = 0; i < n; ++i) {
      if (!out.empty()) out.push_back(' ');
      out += words[pick(rng_)];
    }
  }
  void append_ids(std::vector<int32_t>& out, int64_t n) {
    std::uniform_int_distribution<size_t> pick(0, ids_.size() - 1);
    for (int64_t i = 0; i < n; ++i) out.push_back(ids_[pick(rng_)]);
  }
  void append(BenchRequest& r, int64_t n) {
    if (tok_) append_ids(r.prompt_ids, n);
    else append_words(r.prompt, n);
  }

 private:
  std::mt19937_64& rng_;
  const Tokenizer* tok_;
  std::vector<int32_t> ids_;
};

std::vector<BenchRequest> make_synthetic(size_t n, const WorkloadOptions& o) {
  if (o.isl < 1) throw ConfigError("--isl must be >= 1");
  if (o.osl < 1) throw ConfigError("--osl must be >= 1 for synthetic prompts");
  if (o.prefix_len < 0) throw ConfigError("--prefix-len must be >= 0");
  if (o.prefix_len > 0 && o.num_prefixes < 1) throw ConfigError("--num-prefixes must be >= 1");
  std::mt19937_64 rng(o.seed);
  PieceMaker maker(rng, o.tokenizer);
  std::vector<BenchRequest> prefixes;
  if (o.prefix_len > 0) {
    prefixes.resize(static_cast<size_t>(o.num_prefixes));
    for (auto& p : prefixes) maker.append(p, o.prefix_len);
  }
  std::vector<BenchRequest> out(n);
  for (size_t i = 0; i < n; ++i) {
    BenchRequest& r = out[i];
    if (!prefixes.empty()) r = prefixes[i % prefixes.size()];
    const int64_t isl = sample_length(rng, o.isl, o.isl_stddev);
    maker.append(r, isl);
    r.expected_isl = (o.prefix_len > 0 ? o.prefix_len : 0) + isl;
    r.osl = sample_length(rng, o.osl, o.osl_stddev);
  }
  return out;
}

struct Conversation {
  std::string prompt, reply;
};

std::vector<Conversation> load_sharegpt(const std::filesystem::path& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.load(path.string()).get(root))
    throw ConfigError("--dataset-path " + path.string() + ": " + simdjson::error_message(err));
  simdjson::dom::array entries;
  if (root.get_array().get(entries))
    throw ConfigError("--dataset-path " + path.string() + ": expected a JSON list of conversations");
  std::vector<Conversation> out;
  for (simdjson::dom::element entry : entries) {
    simdjson::dom::array turns;
    if (entry["conversations"].get_array().get(turns) || turns.size() < 2) continue;
    std::string_view from0, from1, v0, v1;
    if (turns.at(0)["from"].get_string().get(from0) || turns.at(1)["from"].get_string().get(from1) ||
        turns.at(0)["value"].get_string().get(v0) || turns.at(1)["value"].get_string().get(v1))
      continue;
    const bool human = from0 == "human" || from0 == "user";
    const bool model = from1 == "gpt" || from1 == "assistant" || from1 == "chatgpt";
    if (!human || !model || v0.empty() || v1.empty()) continue;
    out.push_back({std::string(v0), std::string(v1)});
  }
  if (out.empty())
    throw ConfigError("--dataset-path " + path.string() +
                      ": no usable conversation (need a human turn followed by a gpt turn)");
  return out;
}

std::vector<BenchRequest> make_sharegpt(size_t n, const WorkloadOptions& o) {
  if (o.dataset_path.empty()) throw ConfigError("--dataset sharegpt needs --dataset-path FILE");
  auto convs = load_sharegpt(o.dataset_path);
  std::mt19937_64 rng(o.seed);
  std::shuffle(convs.begin(), convs.end(), rng);
  std::vector<BenchRequest> out(n);
  for (size_t i = 0; i < n; ++i) {
    const Conversation& c = convs[i % convs.size()];  // reused in order when the file is short
    BenchRequest& r = out[i];
    r.prompt = c.prompt;
    if (o.tokenizer) {
      r.expected_isl = static_cast<int64_t>(o.tokenizer->encode(c.prompt, false).size());
      r.osl = o.osl > 0 ? o.osl
                        : std::max<int64_t>(1, static_cast<int64_t>(o.tokenizer->encode(c.reply, false).size()));
    } else {
      r.expected_isl = estimate_tokens(c.prompt);
      r.osl = o.osl > 0 ? o.osl : estimate_tokens(c.reply);
    }
  }
  return out;
}

}  // namespace

int64_t estimate_tokens(const std::string& text) {
  return std::max<int64_t>(1, static_cast<int64_t>((text.size() + 3) / 4));
}

std::vector<BenchRequest> make_workload(size_t n, const WorkloadOptions& opts) {
  if (opts.kind == DatasetKind::kShareGpt) return make_sharegpt(n, opts);
  return make_synthetic(n, opts);
}

}  // namespace dynamo::bench
