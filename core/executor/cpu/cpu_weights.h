// The model's weights as the CPU executor uses them: fp32, Hugging Face [out, in] layout, with q/k/v
// fused into one matrix and gate/up into another so a layer needs four matrix products.
#pragma once
#include <cstdint>
#include <vector>

#include "core/model/model.h"

namespace dynamo::cpu {

struct CpuLayerWeights {
  std::vector<float> input_norm;       // [hidden]
  std::vector<float> qkv;              // [q_dim + 2 * kv_dim, hidden]: q_proj, k_proj, v_proj rows
  std::vector<float> qkv_bias;         // [q_dim + 2 * kv_dim] when attention_bias, else empty
  std::vector<float> q_norm, k_norm;   // [head_dim] when qk_norm, else empty
  std::vector<float> o_proj;           // [hidden, q_dim]
  std::vector<float> post_norm;        // [hidden]
  std::vector<float> gate_up;          // [2 * intermediate, hidden]: gate_proj rows then up_proj rows
  std::vector<float> down;             // [hidden, intermediate]
};

struct CpuWeights {
  std::vector<float> embed;   // [vocab, hidden]
  std::vector<float> final_norm;
  std::vector<float> lm_head; // [vocab, hidden]; empty when tied (use embed)
  std::vector<CpuLayerWeights> layers;

  const float* lm_head_ptr() const { return lm_head.empty() ? embed.data() : lm_head.data(); }
};

// Converts every tensor of model.weights (or of make_dummy_weights when model.dummy) to fp32,
// checking names and shapes against the config. Throws ModelError naming the tensor on mismatch.
CpuWeights load_cpu_weights(const Model& model);

}  // namespace dynamo::cpu
