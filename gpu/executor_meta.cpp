// Building, validating and uploading a step's metadata for the CUDA executor.
#include "gpu/executor_meta.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_prefill.cuh"

namespace dynamo::gpu {

MetaLayout::MetaLayout(int cap_tokens, int cap_seqs, int cap_width) {
  size_t off = 0;
  auto take = [&](size_t n) {
    const size_t at = off;
    off += (n + 63) / 64 * 64;
    return at;
  };
  tokens = take(cap_tokens);
  positions = take(cap_tokens);
  slots = take(cap_tokens);
  q_start = take(cap_seqs);
  q_len = take(cap_seqs);
  num_cached = take(cap_seqs);
  ctx_len = take(cap_seqs);
  logit_rows = take(cap_seqs);
  bt_stride = take(1);
  work = take(2 * (size_t(cap_tokens) / kPrefillTileRows + cap_seqs + 1));
  block_tables = take(size_t(cap_seqs) * cap_width);
  total = off;
}

int blocks_needed(const SequenceWork& s, int block_size) {
  return int((int64_t(s.num_cached) + int64_t(s.tokens.size()) + block_size - 1) / block_size);
}

void validate_step(const StepRequest& request, const ModelConfig& config, int block_size, int num_blocks,
                   const std::string& device) {
  for (size_t i = 0; i < request.seqs.size(); ++i) {
    const SequenceWork& s = request.seqs[i];
    auto fail = [&](const std::string& what) {
      throw std::invalid_argument("step on " + device + ": sequence " + std::to_string(s.seq_id) + ": " + what);
    };
    if (s.tokens.empty()) fail("no tokens to run");
    if (s.num_cached < 0) fail("negative num_cached");
    for (int32_t t : s.tokens)
      if (t < 0 || t >= config.vocab_size) fail("token id " + std::to_string(t) + " outside the vocabulary");
    const int need = blocks_needed(s, block_size);
    if (int(s.block_table.size()) < need)
      fail("block table has " + std::to_string(s.block_table.size()) + " blocks, " + std::to_string(need) +
           " needed");
    for (int b = 0; b < need; ++b)
      if (s.block_table[b] < 0 || s.block_table[b] >= num_blocks)
        fail("block id " + std::to_string(s.block_table[b]) + " outside [0, " + std::to_string(num_blocks) + ")");
    if (s.sample && s.sampling == nullptr) fail("sample requested without sampling parameters");
    if (s.send) {
      if (s.send->dst == nullptr) fail("KV send without a destination");
      if (s.send->src_blocks.size() != s.send->dst_blocks.size()) fail("KV send with unequal block lists");
    }
  }
}

void CudaExecutor::build_meta(const StepRequest& request, int padded, bool compact, Meta& m) {
  const int bs = options_.block_size;
  m.layout = compact ? MetaLayout(padded, padded, cap_width_) : MetaLayout(cap_tokens_, cap_seqs_, cap_width_);
  m.seqs = padded;
  m.width = 1;
  for (const SequenceWork& s : request.seqs) m.width = std::max(m.width, blocks_needed(s, bs));
  m.block_tables.assign(size_t(padded) * m.width, 0);
  int t = 0;
  for (int i = 0; i < padded; ++i) {
    const bool real = i < int(request.seqs.size());
    const int n = real ? int(request.seqs[i].tokens.size()) : 1;
    const int nc = real ? request.seqs[i].num_cached : 0;
    m.q_start.push_back(t);
    m.q_len.push_back(n);
    m.num_cached.push_back(nc);
    m.ctx_len.push_back(real ? nc + n : 0);
    if (!real) {
      m.token_ids.push_back(0);
      m.positions.push_back(0);
      m.slots.push_back(-1);
      ++t;
      continue;
    }
    const SequenceWork& s = request.seqs[i];
    const int need = blocks_needed(s, bs);
    std::copy(s.block_table.begin(), s.block_table.begin() + need, m.block_tables.begin() + size_t(i) * m.width);
    for (int j = 0; j < n; ++j) {
      const int pos = nc + j;
      m.token_ids.push_back(s.tokens[j]);
      m.positions.push_back(pos);
      m.slots.push_back(s.block_table[pos / bs] * bs + pos % bs);
    }
    for (int tile = 0; tile < n; tile += kPrefillTileRows) {
      m.work.push_back(i);
      m.work.push_back(tile);
    }
    if (s.sample) m.logit_rows.push_back(t + n - 1);
    t += n;
  }
  m.tokens = t;
}

// One copy: the arrays are written into the pinned mirror at their offsets and the span up to the
// end of the block tables goes up at once (the gaps between arrays are not read).
void CudaExecutor::upload_meta(const Meta& m) {
  const MetaLayout& L = m.layout;
  auto put = [&](size_t at, const std::vector<int32_t>& v) {
    if (!v.empty()) std::memcpy(meta_host_ + at, v.data(), v.size() * 4);
  };
  put(L.tokens, m.token_ids);
  put(L.positions, m.positions);
  put(L.slots, m.slots);
  put(L.q_start, m.q_start);
  put(L.q_len, m.q_len);
  put(L.num_cached, m.num_cached);
  put(L.ctx_len, m.ctx_len);
  put(L.logit_rows, m.logit_rows);
  meta_host_[L.bt_stride] = m.width;
  put(L.work, m.work);
  put(L.block_tables, m.block_tables);
  const size_t used = L.block_tables + m.block_tables.size();
  CUDA_CHECK(cudaMemcpyAsync(meta_dev_, meta_host_, used * 4, cudaMemcpyHostToDevice, stream_));
}

}  // namespace dynamo::gpu
