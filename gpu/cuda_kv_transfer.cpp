// KV transfer out of a CUDA executor: whole blocks, layer by layer, by peer copy to another CUDA
// executor or to the ranks of a TpExecutor (runs of consecutive blocks coalesced), or by
// device-to-host copy into a CPU executor. Between workers of different TP sizes the KV heads are
// regrouped on the way (kv_regroup_plan): each source rank copies the head runs that it holds.
#include <algorithm>
#include <stdexcept>

#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"
#include "gpu/tp_executor.h"

namespace dynamo::gpu {
namespace {

// The CUDA executors holding dst's KV, by rank; empty when dst is not on a GPU.
std::vector<CudaExecutor*> kv_targets(Executor& dst) {
  if (auto* c = dynamic_cast<CudaExecutor*>(&dst)) return {c};
  if (auto* t = dynamic_cast<TpExecutor*>(&dst)) return t->ranks();
  return {};
}

}  // namespace

void CudaExecutor::enable_peer(int peer) {
  if (peer == device_ || std::find(peers_enabled_.begin(), peers_enabled_.end(), peer) != peers_enabled_.end())
    return;
  peers_enabled_.push_back(peer);
  int can = 0;
  CUDA_CHECK(cudaDeviceCanAccessPeer(&can, device_, peer));
  if (!can) return;  // peer copies still work, staged through the host
  const cudaError_t err = cudaDeviceEnablePeerAccess(peer, 0);
  if (err != cudaSuccess && err != cudaErrorPeerAccessAlreadyEnabled) CUDA_CHECK(err);
  (void)cudaGetLastError();  // clear the sticky "already enabled"
}

// This rank's part of a copy to the CUDA executors `targets` (one per destination rank).
void CudaExecutor::copy_regrouped(const std::vector<CudaExecutor*>& targets, std::span<const int32_t> src,
                                  std::span<const int32_t> dst_blocks, int layer, cudaStream_t stream) {
  const int nkv = int(config_.num_kv_heads);
  const size_t D = size_t(config_.head_dim), bs = size_t(options_.block_size);
  const auto plan = kv_regroup_plan(full_config_.num_kv_heads, shard_.size, int(targets.size()));
  for (const KvHeadCopy& k : plan) {
    if (k.src_rank != shard_.rank) continue;
    CudaExecutor* peer = targets[k.dst_rank];
    const int dst_nkv = peer->local_kv_heads();
    const bool whole = k.count == nkv && dst_nkv == nkv;  // equal shards: contiguous block runs
    for (int value = 0; value < 2; ++value) {
      size_t i = 0;
      while (i < src.size()) {
        size_t j = i + 1;
        while (j < src.size() && src[j] == src[j - 1] + 1 && dst_blocks[j] == dst_blocks[j - 1] + 1) ++j;
        if (dst_blocks[j - 1] >= peer->num_blocks_ || src[j - 1] >= num_blocks_)
          throw std::out_of_range("KV copy: block id out of range");
        auto* to = static_cast<__nv_bfloat16*>(peer->kv_block_ptr(layer, dst_blocks[i], value));
        auto* from = static_cast<__nv_bfloat16*>(kv_block_ptr(layer, src[i], value));
        if (whole) {
          // Blocks of one layer are contiguous on both sides, so a run is one copy.
          CUDA_CHECK(cudaMemcpyPeerAsync(to, peer->device_, from, device_, block_elems_ * 2 * (j - i), stream));
        } else {
          // Rows are (block, token) pairs; each row copies `count` heads out of nkv into dst_nkv.
          // At most kMaxRows rows per copy (the height of a 2D copy is bounded).
          constexpr size_t kMaxRows = 16384;
          const size_t width = size_t(k.count) * D * 2, total = (j - i) * bs;
          for (size_t r0 = 0; r0 < total; r0 += kMaxRows) {
            const size_t rows = std::min(kMaxRows, total - r0);
            cudaMemcpy3DPeerParms p{};
            p.srcPtr =
                make_cudaPitchedPtr(from + (r0 * nkv + size_t(k.src_head)) * D, size_t(nkv) * D * 2, width, rows);
            p.srcDevice = device_;
            p.dstPtr = make_cudaPitchedPtr(to + (r0 * dst_nkv + size_t(k.dst_head)) * D, size_t(dst_nkv) * D * 2, width,
                                           rows);
            p.dstDevice = peer->device_;
            p.extent = make_cudaExtent(width, rows, 1);
            CUDA_CHECK(cudaMemcpy3DPeerAsync(&p, stream));
          }
        }
        i = j;
      }
    }
  }
}

void CudaExecutor::copy_blocks_to(Executor& dst, std::span<const int32_t> src, std::span<const int32_t> dst_blocks,
                                  int layer, cudaStream_t stream) {
  const auto targets = kv_targets(dst);
  if (!targets.empty()) {
    copy_regrouped(targets, src, dst_blocks, layer, stream);
    return;
  }
  if (shard_.size > 1) throw std::invalid_argument("KV copy from a TP rank to a non-CUDA executor is not supported");
  const size_t bytes = block_elems_ * 2;
  for (int value = 0; value < 2; ++value) {
    for (size_t i = 0; i < src.size(); ++i) {
      CUDA_CHECK(cudaMemcpyAsync(dst.kv_block_ptr(layer, dst_blocks[i], value), kv_block_ptr(layer, src[i], value),
                                 bytes, cudaMemcpyDeviceToHost, stream));
    }
  }
}

void CudaExecutor::copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                                  std::span<const int32_t> dst_blocks) {
  CUDA_CHECK(cudaSetDevice(device_));
  if (src_blocks.size() != dst_blocks.size()) throw std::invalid_argument("copy_kv_blocks: unequal block lists");
  const ModelConfig& dc = dst.config();
  if (dc.num_layers != full_config_.num_layers || dc.num_kv_heads != full_config_.num_kv_heads ||
      dc.head_dim != full_config_.head_dim || dst.kv_cache_info().block_size != options_.block_size)
    throw std::invalid_argument("copy_kv_blocks: destination has another model or block size");
  const auto targets = kv_targets(dst);
  if (targets.empty() && dst.kv_cache_info().bytes_per_block != kv_cache_info().bytes_per_block)
    throw std::invalid_argument("copy_kv_blocks: destination stores KV in another precision");
  for (CudaExecutor* t : targets) enable_peer(t->device_);
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
      for (CudaExecutor* t : kv_targets(*s.send->dst)) enable_peer(t->device_);
    }
    copy_blocks_to(*s.send->dst, s.send->src_blocks, s.send->dst_blocks, layer, copy_stream_);
  }
}

}  // namespace dynamo::gpu
