// NullExecutor: writes (token, position) into paged KV, reads the context back, derives a token from it.
#include "core/executor/null_executor.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include <xxhash.h>

#include "core/executor/executor_registry.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

class NullExecutor final : public Executor {
 public:
  NullExecutor(const Model& model, const ExecutorOptions& options)
      : config_(model.config), device_(options.device), block_size_(options.block_size),
        num_blocks_(options.num_kv_blocks > 0 ? options.num_kv_blocks : 8192),
        layers_(static_cast<int32_t>(std::clamp<int64_t>(model.config.num_layers, 1, 4))) {
    if (config_.vocab_size <= 0) throw ConfigError("null executor: the model's vocab_size is not set");
    if (block_size_ <= 0) throw ConfigError("null executor: --kv-block-size must be positive");
    slot_ints_ = static_cast<size_t>(block_size_) * 2;  // (token, position) per slot
    kv_.assign(static_cast<size_t>(num_blocks_) * layers_ * 2 * slot_ints_, -1);
  }

  const ModelConfig& config() const override { return config_; }
  KvCacheInfo kv_cache_info() const override {
    return {num_blocks_, block_size_, static_cast<size_t>(layers_) * 2 * slot_ints_ * sizeof(int32_t)};
  }
  std::string device_name() const override { return device_; }

  StepResult step(const StepRequest& request) override {
    for (const SequenceWork& w : request.seqs) check_table(w);
    for (int32_t layer = 0; layer < layers_; ++layer) {
      for (const SequenceWork& w : request.seqs) {
        write_layer(w, layer);
        if (w.send) send_layer(*w.send, layer);
      }
    }
    StepResult result;
    for (const SequenceWork& w : request.seqs) {
      if (!w.sample) continue;
      result.sampled.push_back(sample(w));
      if (request.return_logits) {
        const size_t base = result.logits.size();
        result.logits.resize(base + static_cast<size_t>(config_.vocab_size), 0.0f);
        result.logits[base + static_cast<size_t>(result.sampled.back().token)] = 1.0f;
      }
    }
    return result;
  }

  void copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                      std::span<const int32_t> dst_blocks) override {
    KvSendPlan plan{&dst, {src_blocks.begin(), src_blocks.end()}, {dst_blocks.begin(), dst_blocks.end()}};
    for (int32_t layer = 0; layer < layers_; ++layer) send_layer(plan, layer);
  }

  void* kv_block_ptr(int32_t layer, int32_t block, bool value) override {
    if (layer < 0 || layer >= layers_ || block < 0 || block >= num_blocks_) {
      throw std::out_of_range("null executor: kv_block_ptr(" + std::to_string(layer) + ", " +
                              std::to_string(block) + ") out of range");
    }
    return slot(layer, block, value ? 1 : 0, 0);
  }

 private:
  int32_t* slot(int32_t layer, int32_t block, int kv, int32_t index) {
    const size_t base = ((static_cast<size_t>(block) * layers_ + layer) * 2 + kv) * slot_ints_;
    return kv_.data() + base + static_cast<size_t>(index) * 2;
  }

  void check_table(const SequenceWork& w) const {
    const int64_t len = w.num_cached + static_cast<int64_t>(w.tokens.size());
    if (static_cast<int64_t>(w.block_table.size()) * block_size_ < len) {
      throw std::runtime_error("null executor: seq " + std::to_string(w.seq_id) + " has " +
                               std::to_string(w.block_table.size()) + " blocks for " + std::to_string(len) +
                               " positions");
    }
    for (int32_t b : w.block_table) {
      if (b < 0 || b >= num_blocks_) throw std::runtime_error("null executor: bad block id " + std::to_string(b));
    }
  }

  void write_layer(const SequenceWork& w, int32_t layer) {
    for (size_t i = 0; i < w.tokens.size(); ++i) {
      const int32_t pos = w.num_cached + static_cast<int32_t>(i);
      const int32_t block = w.block_table[static_cast<size_t>(pos / block_size_)];
      for (int kv = 0; kv < 2; ++kv) {
        int32_t* s = slot(layer, block, kv, pos % block_size_);
        s[0] = w.tokens[i];
        s[1] = pos;
      }
    }
  }

  void send_layer(const KvSendPlan& plan, int32_t layer) {
    if (plan.src_blocks.size() != plan.dst_blocks.size() || plan.dst == nullptr) {
      throw std::runtime_error("null executor: malformed KV send plan");
    }
    const size_t bytes = slot_ints_ * sizeof(int32_t);
    for (size_t i = 0; i < plan.src_blocks.size(); ++i) {
      for (int kv = 0; kv < 2; ++kv) {
        void* dst = plan.dst->kv_block_ptr(layer, plan.dst_blocks[i], kv == 1);
        std::memcpy(dst, slot(layer, plan.src_blocks[i], kv, 0), bytes);
      }
    }
  }

  SampledToken sample(const SequenceWork& w) {
    const int32_t len = w.num_cached + static_cast<int32_t>(w.tokens.size());
    context_.resize(static_cast<size_t>(len));
    for (int32_t pos = 0; pos < len; ++pos) {
      const int32_t block = w.block_table[static_cast<size_t>(pos / block_size_)];
      const int32_t* k0 = slot(0, block, 0, pos % block_size_);
      const int32_t* vl = slot(layers_ - 1, block, 1, pos % block_size_);
      if (k0[1] != pos || vl[1] != pos || vl[0] != k0[0]) {
        throw std::runtime_error("null executor: seq " + std::to_string(w.seq_id) + " position " +
                                 std::to_string(pos) + " in block " + std::to_string(block) + " holds position " +
                                 std::to_string(k0[1]) + "/" + std::to_string(vl[1]) + " (KV never written or misplaced)");
      }
      context_[static_cast<size_t>(pos)] = k0[0];
    }
    uint64_t h = XXH3_64bits(context_.data(), context_.size() * sizeof(int32_t));
    if (w.sampling && !w.sampling->greedy()) {
      const double u = sampling_uniform(w.sampling->seed, w.generated.size());
      h ^= static_cast<uint64_t>(u * 9007199254740992.0) * 0x9e3779b97f4a7c15ull;
    }
    const int64_t vocab = config_.vocab_size;
    int32_t token = static_cast<int32_t>(h % static_cast<uint64_t>(vocab));
    const int32_t min_tokens = w.sampling ? w.sampling->min_tokens : 0;
    auto is_eos = [&](int32_t t) { return std::find(w.eos_ids.begin(), w.eos_ids.end(), t) != w.eos_ids.end(); };
    for (int64_t guard = 0; static_cast<int32_t>(w.generated.size()) < min_tokens && is_eos(token) && guard < vocab; ++guard) {
      token = static_cast<int32_t>((token + 1) % vocab);
    }
    SampledToken out{token, 0.0f, {}};
    if (w.sampling && w.sampling->logprobs > 0) {
      for (int32_t i = 0; i < w.sampling->logprobs && i < vocab; ++i) {
        out.top_logprobs.push_back({static_cast<int32_t>((token + i) % vocab), -static_cast<float>(i)});
      }
    }
    return out;
  }

  ModelConfig config_;
  std::string device_;
  int32_t block_size_;
  int32_t num_blocks_;
  int32_t layers_;
  size_t slot_ints_ = 0;  // ints per (layer, K or V) of one block
  std::vector<int32_t> kv_;
  std::vector<int32_t> context_;  // scratch: the context read back from KV
};

}  // namespace

std::unique_ptr<Executor> make_null_executor(const Model& model, const ExecutorOptions& options) {
  return std::make_unique<NullExecutor>(model, options);
}

void register_null_executor_backend() {
  static std::once_flag once;
  std::call_once(once, [] { register_executor_backend("null", make_null_executor); });
}

}  // namespace dynamo
