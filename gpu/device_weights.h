// The model's weights on one device in bf16, with q/k/v fused into one [q; k; v] matrix and gate/up
// into one [gate; up] matrix. Owned by one CudaExecutor; one allocation holds them all.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

#include "core/model/model.h"
#include "core/model/tensor_shard.h"

namespace dynamo::gpu {

struct LayerWeights {
  __nv_bfloat16* input_norm = nullptr;  // [hidden]
  __nv_bfloat16* qkv = nullptr;         // [(heads + 2 * kv_heads) * head_dim, hidden]
  __nv_bfloat16* qkv_bias = nullptr;    // [(heads + 2 * kv_heads) * head_dim] when attention_bias
  __nv_bfloat16* q_norm = nullptr;      // [head_dim] when qk_norm
  __nv_bfloat16* k_norm = nullptr;
  __nv_bfloat16* o = nullptr;           // [hidden, heads * head_dim]
  __nv_bfloat16* post_norm = nullptr;   // [hidden]
  __nv_bfloat16* gate_up = nullptr;     // [2 * intermediate, hidden]
  __nv_bfloat16* down = nullptr;        // [hidden, intermediate]
};

struct DeviceWeights {
  __nv_bfloat16* embed = nullptr;       // [vocab, hidden]
  __nv_bfloat16* final_norm = nullptr;  // [hidden]
  __nv_bfloat16* lm_head = nullptr;     // [vocab, hidden]; == embed when tied
  std::vector<LayerWeights> layers;
  void* base = nullptr;  // the one allocation
  size_t bytes = 0;

  DeviceWeights() = default;
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;
  ~DeviceWeights();
};

// Allocates on the current device and fills from model.weights (f32/f16/bf16, converted on the
// device one tensor at a time) or, when model.dummy, with random values drawn on the device.
// Throws ModelError naming the tensor on a missing tensor or a shape mismatch.
// With shard.size > 1 only that rank's slice is kept (shard_layout): q/k/v and gate/up rows of its
// heads / MLP columns, o and down columns, embed / lm_head vocabulary rows (vocab_rows per rank, the
// padding rows zero); the shapes in the comments above become the local ones. Dummy shards are drawn
// on the device directly (per rank seeds, so a dummy TP model is not the dummy TP=1 model cut up).
void load_device_weights(const Model& model, DeviceWeights& out, cudaStream_t stream, ShardSpec shard = {});

}  // namespace dynamo::gpu
