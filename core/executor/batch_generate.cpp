// The fixed-batch generation loop: block assignment, chunked prefill, stop checks, timing.
#include "core/executor/batch_generate.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "core/util/errors.h"

namespace dynamo {
namespace {

struct SeqState {
  std::vector<int32_t> blocks;
  int32_t cached = 0;   // tokens already in the KV cache
  size_t prompt_done = 0;
  std::vector<int32_t> chunk;
  bool done = false;
};

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

BatchGenerateStats generate_batch(Executor& executor, std::vector<BatchSequence>& seqs,
                                  const BatchGenerateOptions& options,
                                  const std::function<void(size_t, int32_t)>& on_token) {
  const ModelConfig& config = executor.config();
  const KvCacheInfo kv = executor.kv_cache_info();
  const int64_t max_len = options.max_model_len > 0 ? options.max_model_len : config.max_position_embeddings;
  BatchGenerateStats stats;
  std::vector<SeqState> st(seqs.size());
  int64_t next_block = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const int64_t n = static_cast<int64_t>(seqs[i].prompt.size());
    if (n == 0) throw std::invalid_argument("prompt " + std::to_string(i) + " is empty");
    if (n >= max_len) {
      throw std::invalid_argument("prompt " + std::to_string(i) + " has " + std::to_string(n) +
                                  " tokens; max_model_len is " + std::to_string(max_len));
    }
    for (int32_t t : seqs[i].prompt) {
      if (t < 0 || t >= config.vocab_size) {
        throw std::invalid_argument("prompt " + std::to_string(i) + ": token id " + std::to_string(t) +
                                    " is outside the vocabulary (size " + std::to_string(config.vocab_size) + ")");
      }
    }
    const int64_t total = std::min<int64_t>(n + options.max_tokens, max_len);
    const int64_t blocks = (total + kv.block_size - 1) / kv.block_size;
    for (int64_t b = 0; b < blocks; ++b) st[i].blocks.push_back(static_cast<int32_t>(next_block++));
    seqs[i].generated.clear();
    seqs[i].logits.clear();
    seqs[i].details.clear();
    stats.prompt_tokens += n;
  }
  if (next_block > kv.num_blocks) {
    throw ConfigError("the batch needs " + std::to_string(next_block) + " KV blocks but the cache has " +
                      std::to_string(kv.num_blocks) + "; use fewer or shorter prompts or fewer max tokens");
  }
  if (options.max_tokens <= 0) {
    for (auto& s : seqs) s.finish_reason = "length";
    return stats;
  }

  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  bool prefilling = true;
  std::vector<size_t> sampled;
  for (;;) {
    StepRequest req;
    req.return_logits = options.keep_logits;
    sampled.clear();
    bool any_prompt_left = false;
    for (size_t i = 0; i < seqs.size(); ++i) {
      SeqState& s = st[i];
      if (s.done) continue;
      const std::vector<int32_t>& prompt = seqs[i].prompt;
      if (s.prompt_done < prompt.size()) {
        size_t n = prompt.size() - s.prompt_done;
        if (options.prefill_chunk > 0) n = std::min(n, static_cast<size_t>(options.prefill_chunk));
        s.chunk.assign(prompt.begin() + s.prompt_done, prompt.begin() + s.prompt_done + n);
        s.prompt_done += n;
        any_prompt_left = any_prompt_left || s.prompt_done < prompt.size();
      } else {
        s.chunk.assign(1, seqs[i].generated.back());
      }
      SequenceWork w;
      w.seq_id = static_cast<int64_t>(i);
      w.tokens = s.chunk;
      w.num_cached = s.cached;
      w.block_table = s.blocks;
      w.sample = s.prompt_done == prompt.size();
      w.sampling = &seqs[i].sampling;
      w.prompt = prompt;
      w.generated = seqs[i].generated;
      w.eos_ids = config.eos_token_ids;
      s.cached += static_cast<int32_t>(s.chunk.size());
      if (w.sample) sampled.push_back(i);
      req.seqs.push_back(w);
    }
    if (req.seqs.empty()) break;
    const StepResult res = executor.step(req);
    ++stats.steps;
    const size_t vocab = static_cast<size_t>(config.vocab_size);
    for (size_t k = 0; k < sampled.size(); ++k) {
      const size_t i = sampled[k];
      BatchSequence& seq = seqs[i];
      const int32_t token = res.sampled[k].token;
      seq.generated.push_back(token);
      if (options.keep_logits) {
        seq.logits.insert(seq.logits.end(), res.logits.begin() + k * vocab, res.logits.begin() + (k + 1) * vocab);
      }
      if (seq.sampling.logprobs >= 0) seq.details.push_back(res.sampled[k]);
      ++stats.generated_tokens;
      if (on_token) on_token(i, token);
      const bool eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) !=
                       config.eos_token_ids.end();
      if (eos && !options.ignore_eos) {
        seq.finish_reason = "stop";
        st[i].done = true;
      } else if (static_cast<int32_t>(seq.generated.size()) >= options.max_tokens ||
                 st[i].cached >= max_len) {
        seq.finish_reason = "length";
        st[i].done = true;
      }
    }
    if (prefilling && !any_prompt_left) {
      prefilling = false;
      stats.prefill_seconds = seconds_since(t0);
      stats.prefill_cpu_seconds = cpu_seconds() - cpu0;
    }
  }
  stats.decode_seconds = seconds_since(t0) - stats.prefill_seconds;
  stats.decode_cpu_seconds = cpu_seconds() - cpu0 - stats.prefill_cpu_seconds;
  return stats;
}

}  // namespace dynamo
