// Loading weights onto the device: layout of the fused matrices, host->device staging and conversion,
// or on-device random init for dummy models.
#include "gpu/device_weights.h"

#include <algorithm>
#include <functional>
#include <string>

#include "core/util/errors.h"
#include "gpu/cuda_check.h"
#include "gpu/kernels/weight_init.cuh"

namespace dynamo::gpu {
namespace {

using bf16 = __nv_bfloat16;

std::string layer_name(int64_t layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

// One destination and where its values come from: rows [row0, row0 + rows) and columns
// [col0, col0 + cols) of the source tensor (shape [R, C], or [R] with C = 1), stored densely.
struct Piece {
  std::string name;
  std::vector<int64_t> shape;
  bf16* dst;
  float init;  // dummy: < 0 means N(0, 0.02), otherwise the constant
  int64_t row0 = 0, rows = -1, col0 = 0, cols = -1;  // -1: all
};

size_t numel(const std::vector<int64_t>& s) {
  size_t n = 1;
  for (auto d : s) n *= size_t(d);
  return n;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

uint64_t name_hash(const std::string& s) {  // FNV-1a: a per-tensor seed that does not depend on order
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

DeviceWeights::~DeviceWeights() {
  if (base) cudaFree(base);
}

void load_device_weights(const Model& model, DeviceWeights& w, cudaStream_t stream, ShardSpec shard) {
  const ModelConfig& full = model.config;
  const ShardLayout sl = shard_layout(full, shard);
  const ModelConfig c = local_config(full, shard);
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim, V = sl.vocab_rows;
  const int64_t qd = c.num_heads * D, kvd = c.num_kv_heads * D, qkvd = qd + 2 * kvd;
  const int64_t fqd = full.num_heads * D, fkvd = full.num_kv_heads * D, fI = full.intermediate_size;
  const int64_t q0 = sl.q_head_begin * D, kv0 = sl.kv_head_begin * D, i0 = sl.inter_begin;
  // Sizes in elements, laid out in one allocation (each piece 256-byte aligned).
  std::vector<Piece> pieces;
  size_t offset = 0;
  std::vector<std::pair<bf16**, size_t>> fixups;
  auto reserve = [&](bf16** slot, size_t n) {
    fixups.push_back({slot, offset});
    offset += (n * 2 + 255) / 256 * 256;
  };
  w.layers.resize(c.num_layers);
  reserve(&w.embed, size_t(V) * H);
  reserve(&w.final_norm, H);
  if (!c.tie_word_embeddings) reserve(&w.lm_head, size_t(V) * H);
  for (auto& L : w.layers) {
    reserve(&L.input_norm, H);
    reserve(&L.qkv, size_t(qkvd) * H);
    if (c.attention_bias) reserve(&L.qkv_bias, qkvd);
    if (c.qk_norm) {
      reserve(&L.q_norm, D);
      reserve(&L.k_norm, D);
    }
    reserve(&L.o, size_t(H) * qd);
    reserve(&L.post_norm, H);
    reserve(&L.gate_up, size_t(2 * I) * H);
    reserve(&L.down, size_t(H) * I);
  }
  w.bytes = offset;
  const cudaError_t err = try_cuda_malloc(&w.base, w.bytes);
  if (err != cudaSuccess) {
    throw ModelError("cannot allocate " + std::to_string(w.bytes >> 20) + " MiB for the weights on the GPU: " +
                     cudaGetErrorString(err));
  }
  for (auto& [slot, off] : fixups) *slot = reinterpret_cast<bf16*>(static_cast<char*>(w.base) + off);
  if (c.tie_word_embeddings) w.lm_head = w.embed;

  const float kNormal = -1.f;
  const int64_t vb = sl.vocab_begin, vn = sl.vocab_size;
  const int64_t all = -1;
  pieces.push_back({"model.embed_tokens.weight", {full.vocab_size, H}, w.embed, kNormal, vb, vn, 0, all});
  pieces.push_back({"model.norm.weight", {H}, w.final_norm, 1.f});
  if (!c.tie_word_embeddings)
    pieces.push_back({"lm_head.weight", {full.vocab_size, H}, w.lm_head, kNormal, vb, vn, 0, all});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerWeights& L = w.layers[l];
    pieces.push_back({layer_name(l, "input_layernorm.weight"), {H}, L.input_norm, 1.f});
    pieces.push_back({layer_name(l, "self_attn.q_proj.weight"), {fqd, H}, L.qkv, kNormal, q0, qd, 0, all});
    pieces.push_back({layer_name(l, "self_attn.k_proj.weight"), {fkvd, H}, L.qkv + qd * H, kNormal, kv0, kvd, 0, all});
    pieces.push_back(
        {layer_name(l, "self_attn.v_proj.weight"), {fkvd, H}, L.qkv + (qd + kvd) * H, kNormal, kv0, kvd, 0, all});
    if (c.attention_bias) {
      pieces.push_back({layer_name(l, "self_attn.q_proj.bias"), {fqd}, L.qkv_bias, kNormal, q0, qd, 0, all});
      pieces.push_back({layer_name(l, "self_attn.k_proj.bias"), {fkvd}, L.qkv_bias + qd, kNormal, kv0, kvd, 0, all});
      pieces.push_back(
          {layer_name(l, "self_attn.v_proj.bias"), {fkvd}, L.qkv_bias + qd + kvd, kNormal, kv0, kvd, 0, all});
    }
    if (c.qk_norm) {
      pieces.push_back({layer_name(l, "self_attn.q_norm.weight"), {D}, L.q_norm, 1.f});
      pieces.push_back({layer_name(l, "self_attn.k_norm.weight"), {D}, L.k_norm, 1.f});
    }
    pieces.push_back({layer_name(l, "self_attn.o_proj.weight"), {H, fqd}, L.o, kNormal, 0, all, q0, qd});
    pieces.push_back({layer_name(l, "post_attention_layernorm.weight"), {H}, L.post_norm, 1.f});
    pieces.push_back({layer_name(l, "mlp.gate_proj.weight"), {fI, H}, L.gate_up, kNormal, i0, I, 0, all});
    pieces.push_back({layer_name(l, "mlp.up_proj.weight"), {fI, H}, L.gate_up + I * H, kNormal, i0, I, 0, all});
    pieces.push_back({layer_name(l, "mlp.down_proj.weight"), {H, fI}, L.down, kNormal, 0, all, i0, I});
  }
  for (Piece& p : pieces) {  // resolve "all" against the full shape
    const int64_t R = p.shape[0], C = p.shape.size() > 1 ? p.shape[1] : 1;
    if (p.rows < 0) p.rows = R;
    if (p.cols < 0) p.cols = C;
  }
  // Padding rows of a vocabulary shard (and everything else, before it is written) start at zero.
  CUDA_CHECK(cudaMemsetAsync(w.base, 0, w.bytes, stream));

  if (model.dummy || !model.weights) {
    const uint64_t rank_seed = uint64_t(shard.rank) * 0x9e3779b97f4a7c15ull;
    for (const Piece& p : pieces) {
      const size_t n = size_t(p.rows) * size_t(p.cols);
      if (p.init < 0)
        fill_normal_bf16(p.dst, n, model.dummy_seed ^ name_hash(p.name) ^ rank_seed, 0.02f, stream);
      else
        fill_constant_bf16(p.dst, n, p.init, stream);
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }

  // Stage each tensor's bytes on the device, then convert into its slice. A row slice stages only its
  // rows; a column slice stages the whole tensor, converts it and copies the columns out (2D copy).
  size_t staging_bytes = 0, column_elems = 0;
  for (const Piece& p : pieces) {
    const TensorView& t = model.weights->get(p.name);
    if (t.shape != p.shape) {
      throw ModelError(t.source + ": tensor " + p.name + " has shape " + shape_str(t.shape) + ", expected " +
                       shape_str(p.shape));
    }
    if (t.nbytes != numel(p.shape) * dtype_size(t.dtype))
      throw ModelError(t.source + ": tensor " + p.name + " has " + std::to_string(t.nbytes) + " bytes");
    const bool column = p.cols != (p.shape.size() > 1 ? p.shape[1] : 1);
    staging_bytes = std::max(staging_bytes, column ? t.nbytes : size_t(p.rows) * (t.nbytes / size_t(p.shape[0])));
    if (column) column_elems = std::max(column_elems, numel(p.shape));
  }
  void* staging = nullptr;
  bf16* converted = nullptr;
  CUDA_CHECK(cudaMalloc(&staging, std::max<size_t>(staging_bytes, 1)));
  try {
    if (column_elems) CUDA_CHECK(cudaMalloc(&converted, column_elems * 2));
    for (const Piece& p : pieces) {
      const TensorView& t = model.weights->get(p.name);
      const SourceType st = t.dtype == DType::F32 ? SourceType::F32
                            : t.dtype == DType::F16 ? SourceType::F16 : SourceType::BF16;
      const int64_t C = p.shape.size() > 1 ? p.shape[1] : 1;
      const size_t row_bytes = size_t(C) * dtype_size(t.dtype);
      // Copy and conversion on the same stream: a plain cudaMemcpy from pageable (mmap) memory may
      // return before its DMA lands, and the non-blocking stream would not wait for it. One tensor at
      // a time keeps the staging buffer small.
      if (p.cols == C) {
        if (p.rows == 0) continue;
        CUDA_CHECK(cudaMemcpyAsync(staging, t.data + size_t(p.row0) * row_bytes,
                                   size_t(p.rows) * row_bytes, cudaMemcpyHostToDevice, stream));
        convert_to_bf16(staging, st, p.dst, size_t(p.rows) * size_t(C), stream);
      } else {
        CUDA_CHECK(cudaMemcpyAsync(staging, t.data, t.nbytes, cudaMemcpyHostToDevice, stream));
        convert_to_bf16(staging, st, converted, numel(p.shape), stream);
        CUDA_CHECK(cudaMemcpy2DAsync(p.dst, size_t(p.cols) * 2, converted + (p.row0 * C + p.col0), size_t(C) * 2,
                                     size_t(p.cols) * 2, size_t(p.rows), cudaMemcpyDeviceToDevice, stream));
      }
      CUDA_CHECK(cudaStreamSynchronize(stream));
    }
  } catch (...) {
    cudaFree(staging);
    if (converted) cudaFree(converted);
    throw;
  }
  CUDA_CHECK(cudaFree(staging));
  if (converted) CUDA_CHECK(cudaFree(converted));
}

}  // namespace dynamo::gpu
