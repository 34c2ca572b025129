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

// One destination slice and where its values come from.
struct Piece {
  std::string name;
  std::vector<int64_t> shape;
  bf16* dst;
  float init;  // dummy: < 0 means N(0, 0.02), otherwise the constant
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

void load_device_weights(const Model& model, DeviceWeights& w, cudaStream_t stream) {
  const ModelConfig& c = model.config;
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t qd = c.num_heads * D, kvd = c.num_kv_heads * D, qkvd = qd + 2 * kvd;
  // Sizes in elements, laid out in one allocation (each piece 256-byte aligned).
  std::vector<Piece> pieces;
  size_t offset = 0;
  std::vector<std::pair<bf16**, size_t>> fixups;
  auto reserve = [&](bf16** slot, size_t n) {
    fixups.push_back({slot, offset});
    offset += (n * 2 + 255) / 256 * 256;
  };
  w.layers.resize(c.num_layers);
  reserve(&w.embed, size_t(c.vocab_size) * H);
  reserve(&w.final_norm, H);
  if (!c.tie_word_embeddings) reserve(&w.lm_head, size_t(c.vocab_size) * H);
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
  cudaError_t err = cudaMalloc(&w.base, w.bytes);
  if (err != cudaSuccess) {
    throw ModelError("cannot allocate " + std::to_string(w.bytes >> 20) + " MiB for the weights on the GPU: " +
                     cudaGetErrorString(err));
  }
  for (auto& [slot, off] : fixups) *slot = reinterpret_cast<bf16*>(static_cast<char*>(w.base) + off);
  if (c.tie_word_embeddings) w.lm_head = w.embed;

  const float kNormal = -1.f;
  pieces.push_back({"model.embed_tokens.weight", {c.vocab_size, H}, w.embed, kNormal});
  pieces.push_back({"model.norm.weight", {H}, w.final_norm, 1.f});
  if (!c.tie_word_embeddings) pieces.push_back({"lm_head.weight", {c.vocab_size, H}, w.lm_head, kNormal});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerWeights& L = w.layers[l];
    pieces.push_back({layer_name(l, "input_layernorm.weight"), {H}, L.input_norm, 1.f});
    pieces.push_back({layer_name(l, "self_attn.q_proj.weight"), {qd, H}, L.qkv, kNormal});
    pieces.push_back({layer_name(l, "self_attn.k_proj.weight"), {kvd, H}, L.qkv + qd * H, kNormal});
    pieces.push_back({layer_name(l, "self_attn.v_proj.weight"), {kvd, H}, L.qkv + (qd + kvd) * H, kNormal});
    if (c.attention_bias) {
      pieces.push_back({layer_name(l, "self_attn.q_proj.bias"), {qd}, L.qkv_bias, kNormal});
      pieces.push_back({layer_name(l, "self_attn.k_proj.bias"), {kvd}, L.qkv_bias + qd, kNormal});
      pieces.push_back({layer_name(l, "self_attn.v_proj.bias"), {kvd}, L.qkv_bias + qd + kvd, kNormal});
    }
    if (c.qk_norm) {
      pieces.push_back({layer_name(l, "self_attn.q_norm.weight"), {D}, L.q_norm, 1.f});
      pieces.push_back({layer_name(l, "self_attn.k_norm.weight"), {D}, L.k_norm, 1.f});
    }
    pieces.push_back({layer_name(l, "self_attn.o_proj.weight"), {H, qd}, L.o, kNormal});
    pieces.push_back({layer_name(l, "post_attention_layernorm.weight"), {H}, L.post_norm, 1.f});
    pieces.push_back({layer_name(l, "mlp.gate_proj.weight"), {I, H}, L.gate_up, kNormal});
    pieces.push_back({layer_name(l, "mlp.up_proj.weight"), {I, H}, L.gate_up + I * H, kNormal});
    pieces.push_back({layer_name(l, "mlp.down_proj.weight"), {H, I}, L.down, kNormal});
  }

  if (model.dummy || !model.weights) {
    for (const Piece& p : pieces) {
      if (p.init < 0)
        fill_normal_bf16(p.dst, numel(p.shape), model.dummy_seed ^ name_hash(p.name), 0.02f, stream);
      else
        fill_constant_bf16(p.dst, numel(p.shape), p.init, stream);
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }

  // Stage each tensor's bytes on the device, then convert into its slice.
  size_t staging_bytes = 0;
  for (const Piece& p : pieces) {
    const TensorView& t = model.weights->get(p.name);
    if (t.shape != p.shape) {
      throw ModelError(t.source + ": tensor " + p.name + " has shape " + shape_str(t.shape) + ", expected " +
                       shape_str(p.shape));
    }
    staging_bytes = std::max(staging_bytes, t.nbytes);
  }
  void* staging = nullptr;
  CUDA_CHECK(cudaMalloc(&staging, staging_bytes));
  try {
    for (const Piece& p : pieces) {
      const TensorView& t = model.weights->get(p.name);
      if (t.nbytes != numel(p.shape) * dtype_size(t.dtype))
        throw ModelError(t.source + ": tensor " + p.name + " has " + std::to_string(t.nbytes) + " bytes");
      // Copy and conversion on the same stream: a plain cudaMemcpy from pageable (mmap) memory may
      // return before its DMA lands, and the non-blocking stream would not wait for it. One tensor at
      // a time keeps the staging buffer small.
      CUDA_CHECK(cudaMemcpyAsync(staging, t.data, t.nbytes, cudaMemcpyHostToDevice, stream));
      const SourceType st = t.dtype == DType::F32 ? SourceType::F32
                            : t.dtype == DType::F16 ? SourceType::F16 : SourceType::BF16;
      convert_to_bf16(staging, st, p.dst, numel(p.shape), stream);
      CUDA_CHECK(cudaStreamSynchronize(stream));
    }
  } catch (...) {
    cudaFree(staging);
    throw;
  }
  CUDA_CHECK(cudaFree(staging));
}

}  // namespace dynamo::gpu
