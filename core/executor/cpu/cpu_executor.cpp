// The CPU reference executor: batched fp32 forward pass over a paged KV cache, then sampling.
#include "core/executor/cpu/cpu_executor.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/executor/cpu/cpu_kernels.h"
#include "core/executor/cpu/rope.h"
#include "core/util/errors.h"

namespace dynamo::cpu {
namespace {

int resolve_threads(int32_t requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

template <typename T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

CpuExecutor::CpuExecutor(const Model& model, const ExecutorOptions& options)
    : config_(model.config),
      weights_(load_cpu_weights(model)),
      inv_freq_(rope_inv_freq(model.config)),
      threads_(resolve_threads(options.threads)),
      pool_(threads_) {
  const ModelConfig& c = config_;
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0) {
    throw ModelError("num_attention_heads (" + std::to_string(c.num_heads) +
                     ") must be a multiple of num_key_value_heads (" + std::to_string(c.num_kv_heads) + ")");
  }
  if (options.block_size <= 0) throw ConfigError("block_size must be positive");
  block_size_ = options.block_size;
  max_model_len_ = options.max_model_len > 0 ? options.max_model_len : c.max_position_embeddings;
  block_elems_ = static_cast<int64_t>(block_size_) * c.num_kv_heads * c.head_dim;
  const size_t bytes_per_block = kv_cache_info().bytes_per_block;
  num_blocks_ = options.num_kv_blocks > 0
                    ? options.num_kv_blocks
                    : static_cast<int32_t>(std::min<size_t>(options.cpu_kv_cache_bytes / bytes_per_block, INT32_MAX));
  if (num_blocks_ <= 0) {
    throw ConfigError("cpu_kv_cache_bytes (" + std::to_string(options.cpu_kv_cache_bytes) +
                      ") holds no KV block of " + std::to_string(bytes_per_block) +
                      " bytes; raise it or set num_kv_blocks");
  }
  // Left uninitialised: pages are touched only when a block is first written.
  cache_.reset(new float[static_cast<size_t>(c.num_layers) * num_blocks_ * 2 * block_elems_]);
  openblas_set_num_threads(threads_);
}

KvCacheInfo CpuExecutor::kv_cache_info() const {
  KvCacheInfo info;
  info.num_blocks = num_blocks_;
  info.block_size = block_size_;
  info.bytes_per_block = static_cast<size_t>(config_.num_layers) * 2 * block_elems_ * sizeof(float);
  return info;
}

std::string CpuExecutor::device_name() const {
  return "cpu (" + std::to_string(threads_) + " threads, fp32, OpenBLAS)";
}

void* CpuExecutor::kv_block_ptr(int32_t layer, int32_t block, bool value) {
  if (layer < 0 || layer >= config_.num_layers || block < 0 || block >= num_blocks_) {
    throw std::out_of_range("kv_block_ptr: layer " + std::to_string(layer) + " block " +
                            std::to_string(block) + " out of range");
  }
  return cache_.get() + ((static_cast<int64_t>(layer) * num_blocks_ + block) * 2 + (value ? 1 : 0)) * block_elems_;
}

PagedKvLayer CpuExecutor::kv_layer(int64_t layer) const {
  PagedKvLayer kv;
  kv.base = cache_.get() + layer * num_blocks_ * 2 * block_elems_;
  kv.block_stride = 2 * block_elems_;
  kv.v_offset = block_elems_;
  kv.block_size = block_size_;
  kv.num_kv_heads = config_.num_kv_heads;
  kv.head_dim = config_.head_dim;
  return kv;
}

CpuExecutor& CpuExecutor::peer(Executor& other, const char* what) const {
  auto* dst = dynamic_cast<CpuExecutor*>(&other);
  if (dst == nullptr || dst->block_size_ != block_size_ || dst->block_elems_ != block_elems_ ||
      dst->config_.num_layers != config_.num_layers) {
    throw std::invalid_argument(std::string(what) + ": destination is not a CPU executor of the same model and block size");
  }
  return *dst;
}

void CpuExecutor::copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                                 std::span<const int32_t> dst_blocks) {
  CpuExecutor& d = peer(dst, "copy_kv_blocks");
  if (src_blocks.size() != dst_blocks.size()) {
    throw std::invalid_argument("copy_kv_blocks: src_blocks and dst_blocks differ in length");
  }
  const size_t bytes = static_cast<size_t>(block_elems_) * sizeof(float);
  for (int32_t layer = 0; layer < config_.num_layers; ++layer) {
    for (size_t i = 0; i < src_blocks.size(); ++i) {
      for (bool v : {false, true}) {
        std::memcpy(d.kv_block_ptr(layer, dst_blocks[i], v), kv_block_ptr(layer, src_blocks[i], v), bytes);
      }
    }
  }
}

void CpuExecutor::validate(const StepRequest& request) const {
  for (const SequenceWork& s : request.seqs) {
    // Built only on failure: validation runs every step and must not allocate.
    auto who = [&s] { return "sequence " + std::to_string(s.seq_id) + ": "; };
    if (s.tokens.empty()) throw std::invalid_argument(who() + "no tokens to run");
    if (s.num_cached < 0) throw std::invalid_argument(who() + "negative num_cached");
    const int64_t end = s.num_cached + static_cast<int64_t>(s.tokens.size());
    if (end > max_model_len_) {
      throw std::invalid_argument(who() + std::to_string(end) + " tokens exceed max_model_len " +
                                  std::to_string(max_model_len_));
    }
    if (static_cast<int64_t>(s.block_table.size()) * block_size_ < end) {
      throw std::invalid_argument(who() + "block table of " + std::to_string(s.block_table.size()) +
                                  " blocks does not cover " + std::to_string(end) + " positions");
    }
    for (int32_t b : s.block_table) {
      if (b < 0 || b >= num_blocks_) throw std::invalid_argument(who() + "block " + std::to_string(b) + " out of range");
    }
    for (int32_t t : s.tokens) {
      if (t < 0 || t >= config_.vocab_size) {
        throw std::invalid_argument(who() + "token id " + std::to_string(t) + " outside the vocabulary");
      }
    }
    if (s.sample && s.sampling == nullptr) throw std::invalid_argument(who() + "sample without sampling params");
    if (s.send != nullptr) {
      peer(*s.send->dst, "KvSendPlan");
      if (s.send->src_blocks.size() != s.send->dst_blocks.size()) {
        throw std::invalid_argument(who() + "KvSendPlan src_blocks and dst_blocks differ in length");
      }
    }
  }
}

void CpuExecutor::prepare(const StepRequest& request) {
  const ModelConfig& c = config_;
  const size_t n_seqs = request.seqs.size();
  seq_begin_.resize(n_seqs + 1);
  int64_t t = 0;
  for (size_t s = 0; s < n_seqs; ++s) {
    seq_begin_[s] = t;
    t += static_cast<int64_t>(request.seqs[s].tokens.size());
  }
  seq_begin_[n_seqs] = t;
  num_tokens_ = t;
  const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
  const int64_t half = static_cast<int64_t>(inv_freq_.size());
  grow(x_, t * c.hidden_size);
  grow(h_, t * c.hidden_size);
  grow(qkv_, t * (q_dim + 2 * kv_dim));
  grow(attn_, t * q_dim);
  grow(gate_up_, t * 2 * c.intermediate_size);
  grow(act_, t * c.intermediate_size);
  grow(cos_, t * half);
  grow(sin_, t * half);
  grow(positions_, t);
  for (size_t s = 0; s < n_seqs; ++s) {
    const SequenceWork& w = request.seqs[s];
    for (size_t i = 0; i < w.tokens.size(); ++i) {
      const int64_t row = seq_begin_[s] + static_cast<int64_t>(i);
      positions_[row] = w.num_cached + static_cast<int64_t>(i);
      std::memcpy(&x_[row * c.hidden_size], weights_.embed.data() + static_cast<size_t>(w.tokens[i]) * c.hidden_size,
                  sizeof(float) * c.hidden_size);
      rope_cos_sin(inv_freq_, positions_[row], &cos_[row * half], &sin_[row * half]);
    }
  }
  units_.clear();
  const int32_t group = static_cast<int32_t>(c.num_heads / c.num_kv_heads);
  const int32_t tile = std::max<int32_t>(1, 32 / group);  // <= 32 query rows per unit
  size_t need = 0;
  for (size_t s = 0; s < n_seqs; ++s) {
    const SequenceWork& w = request.seqs[s];
    const int32_t n = static_cast<int32_t>(w.tokens.size());
    for (int32_t b = 0; b < n; b += tile) {
      const int32_t e = std::min(n, b + tile);
      for (int32_t g = 0; g < c.num_kv_heads; ++g) units_.push_back({static_cast<int32_t>(s), g, b, e});
      need = std::max<size_t>(need, static_cast<size_t>(paged_attention_scratch(e - b, group, w.num_cached + e)));
    }
  }
  scratch_floats_ = need;
  grow(scratch_, need * static_cast<size_t>(pool_.size()));
}

void CpuExecutor::write_kv(int64_t layer, const StepRequest& request) {
  const ModelConfig& c = config_;
  const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
  const int64_t qkv_dim = q_dim + 2 * kv_dim;
  const PagedKvLayer kv = kv_layer(layer);
  for (size_t s = 0; s < request.seqs.size(); ++s) {
    const SequenceWork& w = request.seqs[s];
    for (int64_t row = seq_begin_[s]; row < seq_begin_[s + 1]; ++row) {
      const float* k = &qkv_[row * qkv_dim + q_dim];
      paged_kv_write(kv, w.block_table, positions_[row], k, k + kv_dim);
    }
  }
}

void CpuExecutor::attention(int64_t layer, const StepRequest& request) {
  const ModelConfig& c = config_;
  const int64_t hd = c.head_dim, q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd;
  const int64_t qkv_dim = q_dim + 2 * kv_dim;
  const int64_t group = c.num_heads / c.num_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const PagedKvLayer kv = kv_layer(layer);
  // Units are dealt round-robin: later tiles of a prompt see more keys, so contiguous ranges would
  // leave one thread with all the expensive ones.
  const int64_t parts = pool_.size();
  const int64_t n_units = static_cast<int64_t>(units_.size());
  pool_.parallel_for(parts, [&](int64_t begin, int64_t end, int part) {
    float* scratch = &scratch_[static_cast<size_t>(part) * scratch_floats_];
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t u = p; u < n_units; u += parts) {
        const AttentionUnit& unit = units_[u];
        const SequenceWork& w = request.seqs[unit.seq];
        const int64_t row = seq_begin_[unit.seq] + unit.token_begin;
        const int64_t h0 = static_cast<int64_t>(unit.kv_head) * group;
        paged_attention(&qkv_[row * qkv_dim + h0 * hd], qkv_dim, unit.token_end - unit.token_begin,
                        w.num_cached + unit.token_begin, unit.kv_head, group, w.block_table, kv, scale,
                        &attn_[row * q_dim + h0 * hd], q_dim, scratch);
      }
    }
  });
}

void CpuExecutor::send_kv(int64_t layer, const StepRequest& request) {
  const size_t bytes = static_cast<size_t>(block_elems_) * sizeof(float);
  for (const SequenceWork& w : request.seqs) {
    if (w.send == nullptr) continue;
    for (size_t i = 0; i < w.send->src_blocks.size(); ++i) {
      for (bool v : {false, true}) {
        std::memcpy(w.send->dst->kv_block_ptr(static_cast<int32_t>(layer), w.send->dst_blocks[i], v),
                    kv_block_ptr(static_cast<int32_t>(layer), w.send->src_blocks[i], v), bytes);
      }
    }
  }
}

void CpuExecutor::run_layer(int64_t layer, const StepRequest& request) {
  const ModelConfig& c = config_;
  const CpuLayerWeights& lw = weights_.layers[layer];
  const int64_t t = num_tokens_, hidden = c.hidden_size, hd = c.head_dim;
  const int64_t q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd, qkv_dim = q_dim + 2 * kv_dim;
  const int64_t inter = c.intermediate_size, half = static_cast<int64_t>(inv_freq_.size());
  const float eps = static_cast<float>(c.rms_norm_eps);

  rms_norm(x_.data(), h_.data(), t, hidden, hidden, lw.input_norm.data(), eps);
  linear(h_.data(), t, hidden, lw.q_proj.data(), q_dim, lw.q_bias.data(), &qkv_[0], qkv_dim, &pool_);
  linear(h_.data(), t, hidden, lw.k_proj.data(), kv_dim, lw.k_bias.data(), &qkv_[q_dim], qkv_dim, &pool_);
  linear(h_.data(), t, hidden, lw.v_proj.data(), kv_dim, lw.v_bias.data(), &qkv_[q_dim + kv_dim], qkv_dim, &pool_);
  for (int64_t row = 0; row < t; ++row) {
    float* q = &qkv_[row * qkv_dim];
    float* k = q + q_dim;
    if (c.qk_norm) {
      rms_norm(q, q, c.num_heads, hd, hd, lw.q_norm.data(), eps);
      rms_norm(k, k, c.num_kv_heads, hd, hd, lw.k_norm.data(), eps);
    }
    rope_apply(q, c.num_heads, hd, 2 * half, &cos_[row * half], &sin_[row * half]);
    rope_apply(k, c.num_kv_heads, hd, 2 * half, &cos_[row * half], &sin_[row * half]);
  }
  write_kv(layer, request);
  attention(layer, request);
  linear(attn_.data(), t, q_dim, lw.o_proj.data(), hidden, nullptr, h_.data(), 0, &pool_);
  add_inplace(x_.data(), h_.data(), t * hidden);

  rms_norm(x_.data(), h_.data(), t, hidden, hidden, lw.post_norm.data(), eps);
  linear(h_.data(), t, hidden, lw.gate_proj.data(), inter, nullptr, &gate_up_[0], 2 * inter, &pool_);
  linear(h_.data(), t, hidden, lw.up_proj.data(), inter, nullptr, &gate_up_[inter], 2 * inter, &pool_);
  silu_mul(gate_up_.data(), t, inter, act_.data());
  linear(act_.data(), t, inter, lw.down_proj.data(), hidden, nullptr, h_.data(), 0, &pool_);
  add_inplace(x_.data(), h_.data(), t * hidden);
}

void CpuExecutor::compute_logits(const StepRequest& request) {
  const ModelConfig& c = config_;
  const int64_t hidden = c.hidden_size;
  int64_t n = 0;
  for (const SequenceWork& w : request.seqs) n += w.sample ? 1 : 0;
  grow(last_, n * hidden);
  grow(logits_, n * c.vocab_size);
  int64_t r = 0;
  for (size_t s = 0; s < request.seqs.size(); ++s) {
    if (!request.seqs[s].sample) continue;
    std::memcpy(&last_[r * hidden], &x_[(seq_begin_[s + 1] - 1) * hidden], sizeof(float) * hidden);
    ++r;
  }
  rms_norm(last_.data(), last_.data(), n, hidden, hidden, weights_.final_norm.data(),
           static_cast<float>(c.rms_norm_eps));
  if (n > 0) linear(last_.data(), n, hidden, weights_.lm_head.data(), c.vocab_size, nullptr, logits_.data(), 0, &pool_);
}

StepResult CpuExecutor::step(const StepRequest& request) {
  StepResult result;
  if (request.seqs.empty()) return result;
  validate(request);
  prepare(request);
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    run_layer(layer, request);
    send_kv(layer, request);
  }
  compute_logits(request);
  const int64_t vocab = config_.vocab_size;
  int64_t r = 0;
  for (const SequenceWork& w : request.seqs) {
    if (!w.sample) continue;
    std::span<const float> row(&logits_[r * vocab], static_cast<size_t>(vocab));
    result.sampled.push_back(sampler_.sample(row, *w.sampling, w.prompt, w.generated, w.eos_ids));
    ++r;
  }
  if (request.return_logits) result.logits.assign(logits_.begin(), logits_.begin() + r * vocab);
  return result;
}

}  // namespace dynamo::cpu

namespace dynamo {

std::unique_ptr<Executor> make_cpu_executor(const Model& model, const ExecutorOptions& options) {
  return std::make_unique<cpu::CpuExecutor>(model, options);
}

}  // namespace dynamo
