// The CUDA executor's forward pass: embedding, then per layer norm -> fused QKV (+ bias, before the
// rounding) -> (q/k norm) -> RoPE + KV store -> paged attention -> o_proj -> norm -> fused gate/up ->
// SwiGLU -> down, then the final norm and the lm_head over the rows that are sampled (at 1 row each
// norm between two products is split over them, with no kernel of its own). No host synchronisation
// inside.
// As a TP rank: vocab-shard embedding + all-reduce, all-reduce after o_proj and after down, and the
// vocab-shard logits all-gathered into the full rows on rank 0 (sampling stays whole on rank 0).
#include <algorithm>
#include <cmath>

#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"
#include "gpu/executor_meta.h"
#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/attention_prefill.cuh"
#include "gpu/kernels/elementwise.cuh"
#include "gpu/kernels/embedding.cuh"
#include "gpu/kernels/head_norm.cuh"
#include "gpu/kernels/rms_norm.cuh"
#include "gpu/kernels/rope_cache.cuh"

namespace dynamo::gpu {

void CudaExecutor::forward(const Meta& m, bool decode, bool graph_rows, const StepRequest* sends) {
  const ModelConfig& c = config_;
  const int T = m.tokens, S = m.seqs;
  const int H = int(c.hidden_size), I = int(c.intermediate_size), D = int(c.head_dim), V = int(c.vocab_size);
  const int nq = int(c.num_heads), nkv = int(c.num_kv_heads);
  const int qd = nq * D, qkvd = qd + 2 * nkv * D;
  const float eps = float(c.rms_norm_eps);
  const float scale = 1.f / std::sqrt(float(D));
  const MetaLayout& L = m.layout;
  const int32_t* meta = meta_dev_;

  AttentionDecodeParams dp;
  AttentionPrefillParams pp;
  if (decode) {
    dp.q = qkv_;
    dp.q_stride = qkvd;
    dp.out = attn_;
    dp.out_stride = qd;
    dp.block_tables = meta + L.block_tables;
    dp.bt_stride = meta + L.bt_stride;
    dp.ctx_len = meta + L.ctx_len;
    dp.num_seqs = S;
    dp.num_heads = nq;
    dp.num_kv_heads = nkv;
    dp.head_dim = D;
    dp.block_size = options_.block_size;
    dp.num_splits = decode_splits(S, nkv, num_sms_, decode_waves_);
    dp.mode = decode_mode_ >= 0 ? DecodeAttentionMode(decode_mode_) : decode_attention_mode();
    // RoPE inside the split kernel: not while sending KV (the send follows the cache store), and for
    // rotary dims it handles.
    if (dp.mode >= DecodeAttentionMode::kRope && (sends || c.rotary_dim % 16 != 0))
      dp.mode = DecodeAttentionMode::kPrefetch;
    dp.cos_sin = rope_cs_;
    dp.slots = meta + L.slots;
    dp.rotary_dim = int(c.rotary_dim);
    dp.counters = split_counters_;
    dp.scale = scale;
    dp.part_acc = part_acc_;
    dp.part_ml = part_ml_;
  } else {
    pp.q = qkv_;
    pp.q_stride = qkvd;
    pp.out = attn_;
    pp.out_stride = qd;
    pp.block_tables = meta + L.block_tables;
    pp.bt_stride = m.width;
    pp.q_start = meta + L.q_start;
    pp.q_len = meta + L.q_len;
    pp.num_cached = meta + L.num_cached;
    pp.work = meta + L.work;
    pp.num_work = int(m.work.size() / 2);
    pp.num_heads = nq;
    pp.num_kv_heads = nkv;
    pp.head_dim = D;
    pp.block_size = options_.block_size;
    pp.scale = scale;
  }

  // Before the first PDL kernel, so every kernel of the step may read the table (see pdl.cuh).
  rope_table(meta + L.positions, inv_freq_, rope_cs_, T, int(c.rotary_dim), stream_);
  if (shard_.size > 1) {
    embed_tokens_shard(meta + L.tokens, weights_.embed, residual_, T, H, int(layout_.vocab_begin),
                       int(layout_.vocab_size), stream_);
    all_reduce(residual_, size_t(T) * H);
  } else {
    embed_tokens(meta + L.tokens, weights_.embed, residual_, T, H, stream_);
  }
  // L2 prefetch branch (DYNAMO_L2_PREFETCH, see cuda_executor.h): which weights, from when.
  const bool prefetch = l2_prefetch_on(decode, T, sends != nullptr);
  const L2Prefetch mode = l2pf_mode_;
  const L2PrefetchOp op = mode == L2Prefetch::kQkvLinesEvictLast ? L2PrefetchOp::kLinesEvictLast : L2PrefetchOp::kBulk;
  const size_t o_bytes = size_t(H) * qd * 2, qkv_head = std::min(size_t(qkvd) * H * 2, l2pf_qkv_bytes_);
  const bool qkv_beside_down = mode == L2Prefetch::kQkvBesideDown || mode == L2Prefetch::kQkvLinesEvictLast ||
                               mode == L2Prefetch::kBranchOnly;
  const bool norms = !(skip_ & kSkipNorms), attention = !(skip_ & kSkipAttention);
  const bool attn_products = !(skip_ & kSkipAttnProducts), mlp_products = !(skip_ & kSkipMlpProducts);
  // The decode split kernel rotates q and the new k and stores the new K/V itself (mode >= kRope).
  const bool rope_in_attention = decode && dp.mode >= DecodeAttentionMode::kRope;
  // At 1 row (batch-1 decode) the norms between two products are split over them (gemv.cuh's
  // SplitNorm: o_proj -> gate/up, and down -> the next layer's QKV), so no norm kernel runs there; not
  // on a TP rank, whose products are partial sums until the all-reduce.
  const bool split = split_norms_ && shard_.size == 1 && norms && attn_products && mlp_products &&
                     linear_->takes_split_norm(T, H) && qd % 8 == 0 && I % 8 == 0;
  auto split_norm = [&](const __nv_bfloat16* weight) {
    return SplitNorm{residual_, weight, normed_, norm_parts_, eps};
  };
  for (int l = 0; l < int(c.num_layers); ++l) {
    const LayerWeights& w = weights_.layers[l];
    const bool next = l + 1 < int(c.num_layers);
    if (split && l > 0) {
      linear_->forward_norm_end(split_norm(w.input_norm), w.qkv, qkv_, T, H, qkvd, w.qkv_bias);
    } else {
      if (norms) add_rms_norm(residual_, l == 0 ? nullptr : proj_, w.input_norm, normed_, T, H, eps, stream_);
      if (attn_products) linear_->forward(normed_, w.qkv, qkv_, T, H, qkvd, w.qkv_bias);
    }
    if (prefetch) prefetch_weights(w.o, o_bytes, op);
    if (w.q_norm) {
      head_rms_norm(qkv_, w.q_norm, T, qkvd, 0, nq, D, eps, stream_);
      head_rms_norm(qkv_, w.k_norm, T, qkvd, nq, nkv, D, eps, stream_);
    }
    if (attention && !rope_in_attention)
      rope_and_cache(qkv_, rope_cs_, meta + L.slots, k_cache(l), v_cache(l), T, nq, nkv, D, int(c.rotary_dim),
                     stream_);
    if (sends && !send_after_attention_) send_layer(*sends, l);
    if (attention && decode) {
      dp.k_cache = dp.k_store = k_cache(l);
      dp.v_cache = dp.v_store = v_cache(l);
      attention_decode(dp, stream_);
    } else if (attention) {
      pp.k_cache = k_cache(l);
      pp.v_cache = v_cache(l);
      attention_prefill(pp, stream_);
    }
    if (sends && send_after_attention_) send_layer(*sends, l);
    if (split) {
      linear_->forward_norm_begin(attn_, w.o, T, qd, H, split_norm(w.post_norm));
      linear_->forward_norm_end_swiglu(split_norm(w.post_norm), w.gate_up, mlp_act_, T, H, I);
    } else {
      if (attn_products) linear_->forward(attn_, w.o, proj_, T, qd, H);
      all_reduce(proj_, size_t(T) * H);
      if (norms) add_rms_norm(residual_, proj_, w.post_norm, normed_, T, H, eps, stream_);
      if (mlp_products && !linear_->forward_swiglu(normed_, w.gate_up, mlp_act_, T, H, I)) {
        linear_->forward(normed_, w.gate_up, gate_up_, T, H, 2 * I);
        swiglu(gate_up_, mlp_act_, T, I, stream_);
      }
    }
    if (prefetch && next && qkv_beside_down) prefetch_weights(weights_.layers[l + 1].qkv, qkv_head, op);
    if (split && next)
      linear_->forward_norm_begin(mlp_act_, w.down, T, I, H, split_norm(weights_.layers[l + 1].input_norm));
    else if (mlp_products)
      linear_->forward(mlp_act_, w.down, proj_, T, I, H);
    if (prefetch && next && mode == L2Prefetch::kQkvAfterDown)
      prefetch_weights(weights_.layers[l + 1].qkv, qkv_head, op);
    all_reduce(proj_, size_t(T) * H);
  }
  add_rms_norm(residual_, proj_, weights_.final_norm, normed_, T, H, eps, stream_);
  (void)V;
  if (graph_rows) {
    lm_head(normed_, S);
  } else {
    const int rows = int(m.logit_rows.size());
    gather_rows(normed_, meta + L.logit_rows, last_, rows, H, stream_);
    lm_head(last_, rows);
  }
  join_prefetch();
}

void CudaExecutor::all_reduce(__nv_bfloat16* buf, size_t n) {
  if (shard_.size > 1 && !(skip_ & kSkipAllReduce) && n > 0) comm_->all_reduce_bf16(shard_.rank, buf, n, stream_);
}

// logits_[rows][vocab] (fp32). A TP rank computes its vocab_rows columns, the shards are all-gathered
// ([rank][rows][vocab_rows]) and rank 0 lays the valid columns of each out into full rows.
void CudaExecutor::lm_head(const __nv_bfloat16* x, int rows) {
  const int H = int(config_.hidden_size), V = int(config_.vocab_size);
  if (shard_.size == 1) {
    linear_->forward_f32(x, weights_.lm_head, logits_, rows, H, V);
    return;
  }
  if (rows == 0) return;
  const int64_t Vl = layout_.vocab_rows;
  linear_->forward_f32(x, weights_.lm_head, logits_shard_, rows, H, int(Vl));
  if (skip_ & kSkipGather) return;
  comm_->all_gather_f32(shard_.rank, logits_shard_, logits_gather_, size_t(rows) * Vl, stream_);
  if (shard_.rank != 0) return;
  for (int r = 0; r < shard_.size; ++r) {
    const ShardLayout l = shard_layout(full_config_, {r, shard_.size});
    if (l.vocab_size == 0) continue;
    CUDA_CHECK(cudaMemcpy2DAsync(logits_ + l.vocab_begin, size_t(V) * 4, logits_gather_ + size_t(r) * rows * Vl,
                                 size_t(Vl) * 4, size_t(l.vocab_size) * 4, size_t(rows), cudaMemcpyDeviceToDevice,
                                 stream_));
  }
}

}  // namespace dynamo::gpu
