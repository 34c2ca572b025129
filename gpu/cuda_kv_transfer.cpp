// KV transfer out of a CUDA executor: whole blocks, layer by layer, by peer copy to another CUDA
// executor (runs of consecutive blocks coalesced) or by device-to-host copy into a CPU executor.
#include <algorithm>
#include <stdexcept>

#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"

namespace dynamo::gpu {

void CudaExecutor::enable_peer(int peer) {
  if (peer == device_ || std::find(peers_enabled_.begin(), peers_enabled_.end(), peer) != peers_enabled_.end())
    return;
  peers_enabled_.push_back(peer);
  int can = 0;
  CUDA_CHECK(cudaDeviceCanAccessPeer(&can, device_, peer));
  if (!can) return;  // cudaMemcpyPeerAsync still works, staged through the host
  const cudaError_t err = cudaDeviceEnablePeerAccess(peer, 0);
  if (err != cudaSuccess && err != cudaErrorPeerAccessAlreadyEnabled) CUDA_CHECK(err);
  (void)cudaGetLastError();  // clear the sticky "already enabled"
}

void CudaExecutor::copy_blocks_to(Executor& dst, std::span<const int32_t> src, std::span<const int32_t> dst_blocks,
                                  int layer, cudaStream_t stream) {
  const size_t bytes = block_elems_ * 2;
  auto* peer = dynamic_cast<CudaExecutor*>(&dst);
  for (int value = 0; value < 2; ++value) {
    size_t i = 0;
    while (i < src.size()) {
      size_t j = i + 1;
      if (peer) {
        while (j < src.size() && src[j] == src[j - 1] + 1 && dst_blocks[j] == dst_blocks[j - 1] + 1) ++j;
        void* to = peer->kv_block_ptr(layer, dst_blocks[i], value);
        const void* from = kv_block_ptr(layer, src[i], value);
        // Blocks of one layer are contiguous on both sides, so a run is one copy.
        if (dst_blocks[j - 1] >= peer->num_blocks_ || src[j - 1] >= num_blocks_)
          throw std::out_of_range("KV copy: block id out of range");
        CUDA_CHECK(cudaMemcpyPeerAsync(to, peer->device_, from, device_, bytes * (j - i), stream));
      } else {
        CUDA_CHECK(cudaMemcpyAsync(dst.kv_block_ptr(layer, dst_blocks[i], value), kv_block_ptr(layer, src[i], value),
                                   bytes, cudaMemcpyDeviceToHost, stream));
      }
      i = j;
    }
  }
}

void CudaExecutor::copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                                  std::span<const int32_t> dst_blocks) {
  CUDA_CHECK(cudaSetDevice(device_));
  if (src_blocks.size() != dst_blocks.size()) throw std::invalid_argument("copy_kv_blocks: unequal block lists");
  const ModelConfig& dc = dst.config();
  if (dc.num_layers != config_.num_layers || dc.num_kv_heads != config_.num_kv_heads ||
      dc.head_dim != config_.head_dim || dst.kv_cache_info().block_size != options_.block_size)
    throw std::invalid_argument("copy_kv_blocks: destination has another model or block size");
  if (dst.kv_cache_info().bytes_per_block != kv_cache_info().bytes_per_block)
    throw std::invalid_argument("copy_kv_blocks: destination stores KV in another precision");
  if (auto* peer = dynamic_cast<CudaExecutor*>(&dst)) enable_peer(peer->device_);
  for (int l = 0; l < int(config_.num_layers); ++l) copy_blocks_to(dst, src_blocks, dst_blocks, l, stream_);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

// Called inside step() right after layer `layer` stored its K/V: the copy stream waits for that point
// and ships the layer while the next layers compute.
void CudaExecutor::send_layer(const StepRequest& request, int layer) {
  CUDA_CHECK(cudaEventRecord(layer_events_[layer], stream_));
  CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, layer_events_[layer], 0));
  for (const SequenceWork& s : request.seqs) {
    if (!s.send) continue;
    if (layer == 0) {
      if (auto* peer = dynamic_cast<CudaExecutor*>(s.send->dst)) enable_peer(peer->device_);
    }
    copy_blocks_to(*s.send->dst, s.send->src_blocks, s.send->dst_blocks, layer, copy_stream_);
  }
}

}  // namespace dynamo::gpu
