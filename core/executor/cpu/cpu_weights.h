// The model's weights as the CPU executor reads them: fp32 in Hugging Face [out, in] layout.
// Tensors already stored as aligned fp32 (GGUF after dequantisation, fp32 safetensors, dummy) are
// used in place, without a copy; f16/bf16 tensors are converted once into owned buffers.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/model/model.h"

namespace dynamo::cpu {

// An fp32 tensor: either a view into the WeightStore or an owned conversion.
class F32Tensor {
 public:
  F32Tensor() = default;
  static F32Tensor view(const float* p) { F32Tensor t; t.view_ = p; return t; }
  static F32Tensor owned(std::vector<float> v) { F32Tensor t; t.owned_ = std::move(v); return t; }
  const float* data() const { return owned_.empty() ? view_ : owned_.data(); }
  bool empty() const { return data() == nullptr; }

 private:
  const float* view_ = nullptr;
  std::vector<float> owned_;
};

struct CpuLayerWeights {
  F32Tensor input_norm, post_norm;                 // [hidden]
  F32Tensor q_proj, k_proj, v_proj, o_proj;        // [q_dim|kv_dim, hidden], o: [hidden, q_dim]
  F32Tensor q_bias, k_bias, v_bias;                // when attention_bias
  F32Tensor q_norm, k_norm;                        // [head_dim] when qk_norm
  F32Tensor gate_proj, up_proj, down_proj;         // [inter, hidden] x2, [hidden, inter]
};

struct CpuWeights {
  std::shared_ptr<const WeightStore> store;  // keeps the viewed tensors alive
  F32Tensor embed;                           // [vocab, hidden]
  F32Tensor final_norm;
  F32Tensor lm_head;                         // [vocab, hidden]; the embedding when tied
  std::vector<CpuLayerWeights> layers;
};

// Reads every tensor of model.weights (or of make_dummy_weights when model.dummy), checking names
// and shapes against the config. Throws ModelError naming the tensor on mismatch.
CpuWeights load_cpu_weights(const Model& model);

}  // namespace dynamo::cpu
