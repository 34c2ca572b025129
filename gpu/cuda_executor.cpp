// CudaExecutor: construction (device, weights, memory sizing), step orchestration and metadata,
// KV block access. The forward pass lives in cuda_forward.cpp, sampling in cuda_sampling.cpp and KV
// transfer in cuda_kv_transfer.cpp.
#include "gpu/cuda_executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "core/util/errors.h"
#include "gpu/cuda_check.h"
#include "gpu/env_int.h"
#include "gpu/executor_meta.h"
#include "gpu/kernels/attention_decode.cuh"
#include "gpu/rope_freq.h"

namespace dynamo::gpu {
namespace {

int parse_device(const std::string& device) {
  const std::string prefix = "cuda:";
  if (device == "cuda") return 0;
  if (device.rfind(prefix, 0) != 0) throw ConfigError("device '" + device + "': expected cuda:N");
  try {
    size_t used = 0;
    const int n = std::stoi(device.substr(prefix.size()), &used);
    if (used + prefix.size() != device.size() || n < 0) throw std::invalid_argument("");
    return n;
  } catch (const std::exception&) {
    throw ConfigError("device '" + device + "': expected cuda:N with N a device index");
  }
}

void check_config(const ModelConfig& c, const ExecutorOptions& o) {
  auto fail = [&](const std::string& what) { throw ConfigError("CUDA executor: " + what); };
  if (c.head_dim != 64 && c.head_dim != 128)
    fail("head_dim " + std::to_string(c.head_dim) + " is not supported (64 or 128)");
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0 || c.num_heads / c.num_kv_heads > 16)
    fail("num_attention_heads must be a multiple (at most 16x) of num_key_value_heads");
  if (c.hidden_size % 8 != 0 || c.intermediate_size % 8 != 0) fail("hidden and intermediate sizes must be multiples of 8");
  const int64_t rot = c.rotary_dim > 0 ? c.rotary_dim : c.head_dim;
  if (rot % 2 != 0 || rot > c.head_dim) fail("rotary_dim must be even and at most head_dim");
  if (o.block_size < 1 || o.block_size > 1024) fail("block_size must be in [1, 1024]");
  if (!(o.gpu_memory_utilization > 0.0 && o.gpu_memory_utilization <= 1.0))
    fail("gpu_memory_utilization must be in (0, 1]");
  if (o.max_num_seqs < 1) fail("max_num_seqs must be at least 1");
}

size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace

int decode_bucket(int n, int max_num_seqs) {
  (void)max_num_seqs;
  if (n <= 1) return 1;
  if (n <= 2) return 2;
  if (n <= 4) return 4;
  return (n + 7) / 8 * 8;
}

CudaExecutor::CudaExecutor(const Model& model, const ExecutorOptions& options, ShardSpec shard, TpComm* comm)
    : config_(model.config), full_config_(model.config), shard_(shard), comm_(comm), options_(options) {
  device_ = parse_device(options.device);
  check_config(config_, options_);
  if (shard_.size > 1 && !comm_) throw std::invalid_argument("CudaExecutor: a TP rank needs its TpComm");
  check_shardable(full_config_, shard_.size);
  layout_ = shard_layout(full_config_, shard_);
  config_ = local_config(full_config_, shard_);
  check_config(config_, options_);  // the shard's sizes too
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    throw ConfigError("device '" + options.device + "': no CUDA device is visible");
  if (device_ >= count)
    throw ConfigError("device '" + options.device + "': only " + std::to_string(count) + " CUDA device(s)");
  if (config_.rotary_dim <= 0) config_.rotary_dim = config_.head_dim;
  if (full_config_.rotary_dim <= 0) full_config_.rotary_dim = full_config_.head_dim;
  CUDA_CHECK(cudaSetDevice(device_));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  num_sms_ = prop.multiProcessorCount;
  name_ = "cuda:" + std::to_string(device_) + " (" + prop.name + ")";
  if (shard_.size > 1) name_ += " TP rank " + std::to_string(shard_.rank) + "/" + std::to_string(shard_.size);
  // Tuning knobs for measurements (defaults measured best on an H100, docs/PERFORMANCE.md), read before
  // any allocation so that a bad value leaks nothing.
  decode_waves_ = env_int("DYNAMO_DECODE_WAVES", 0, 0, kMaxDecodeWaves);  // 0: by batch (decode_splits())
  // -1 the default (decode_attention_mode()), else 0 plain, 1 prefetch, 2 + RoPE, 3 + combine.
  decode_mode_ = env_int("DYNAMO_DECODE_ATTN", -1, -1, 3);
  // 1: the norms between two skinny products split over them (1 row, cuda_forward.cpp), 0: norm kernels.
  split_norms_ = env_int("DYNAMO_SPLIT_NORMS", 1, 0, 1) == 1;
  if (const char* e = std::getenv("DYNAMO_KV_SEND_AFTER")) {
    const std::string point = e;
    if (point != "store" && point != "attention")
      throw ConfigError("DYNAMO_KV_SEND_AFTER must be store or attention, not '" + point + "'");
    send_after_attention_ = point == "attention";
  }
  // From here on the constructor allocates: a throw releases what it had (the destructor does not run).
  try {
    acquire(model, prop);
  } catch (...) {
    release();
    throw;
  }
}

// The constructor's allocations: streams and events, weights, the RoPE table, activations, KV cache.
void CudaExecutor::acquire(const Model& model, const cudaDeviceProp& prop) {
  init_l2_prefetch(size_t(prop.l2CacheSize));  // before the other allocations: a bad DYNAMO_L2_PREFETCH throws first
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
  layer_events_.resize(config_.num_layers);
  for (auto& e : layer_events_) CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  for (cudaEvent_t* e : {&send_begin_, &send_compute_end_, &send_copy_end_}) CUDA_CHECK(cudaEventCreate(e));
  linear_ = std::make_unique<Linear>(stream_);
  load_device_weights(model, weights_, stream_, shard_);
  const std::vector<float> inv_freq = rope_inv_freq(config_);
  CUDA_CHECK(cudaMalloc(&inv_freq_, inv_freq.size() * sizeof(float)));
  CUDA_CHECK(cudaMemcpy(inv_freq_, inv_freq.data(), inv_freq.size() * sizeof(float), cudaMemcpyHostToDevice));
  max_model_len_ = options_.max_model_len > 0 ? options_.max_model_len : int(config_.max_position_embeddings);
  const int width = (max_model_len_ + options_.block_size - 1) / options_.block_size;
  const int seqs = decode_bucket(options_.max_num_seqs, options_.max_num_seqs);
  allocate_activations(std::max(8192, seqs), seqs, width);
  size_kv_cache();
}

CudaExecutor::~CudaExecutor() { release(); }

// Everything acquire() may have made, whichever part of it exists.
void CudaExecutor::release() noexcept {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  if (copy_stream_) cudaStreamSynchronize(copy_stream_);
  clear_graphs();
  destroy_l2_prefetch();
  free_activations();
  if (adjust_dev_) cudaFree(adjust_dev_);
  if (adjust_host_) cudaFreeHost(adjust_host_);
  adjust_dev_ = nullptr;
  adjust_host_ = nullptr;
  cap_adjust_ = 0;
  if (kv_) cudaFree(kv_);
  if (inv_freq_) cudaFree(inv_freq_);
  kv_ = nullptr;
  inv_freq_ = nullptr;
  linear_.reset();
  for (cudaEvent_t e : layer_events_)
    if (e) cudaEventDestroy(e);
  layer_events_.clear();
  for (cudaEvent_t* e : {&send_begin_, &send_compute_end_, &send_copy_end_}) {
    if (*e) cudaEventDestroy(*e);
    *e = nullptr;
  }
  for (cudaStream_t* st : {&copy_stream_, &stream_}) {
    if (*st) cudaStreamDestroy(*st);
    *st = nullptr;
  }
}

void CudaExecutor::clear_graphs() {
  for (auto& [bucket, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

void CudaExecutor::allocate_activations(int tokens, int seqs, int width) {
  clear_graphs();  // graphs bake the old pointers
  free_activations();
  cap_tokens_ = tokens;
  cap_seqs_ = seqs;
  cap_width_ = width;
  const ModelConfig& c = config_;
  const size_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim, V = c.vocab_size;
  const size_t qd = c.num_heads * D, qkvd = qd + 2 * c.num_kv_heads * D, T = tokens, S = seqs;
  const size_t G = c.num_heads / c.num_kv_heads;
  const size_t partials = G * (kMaxDecodeWaves * size_t(num_sms_) + S * c.num_kv_heads);  // see decode_splits()
  const MetaLayout layout(cap_tokens_, cap_seqs_, cap_width_);
  size_t off = 0;
  std::vector<std::pair<void**, size_t>> slots;
  auto take = [&](void** p, size_t bytes) {
    slots.push_back({p, off});
    off += align256(bytes);
  };
  take(reinterpret_cast<void**>(&residual_), T * H * 2);
  take(reinterpret_cast<void**>(&normed_), T * H * 2);
  take(reinterpret_cast<void**>(&qkv_), T * qkvd * 2);
  take(reinterpret_cast<void**>(&attn_), T * qd * 2);
  take(reinterpret_cast<void**>(&proj_), T * H * 2);
  take(reinterpret_cast<void**>(&gate_up_), T * 2 * I * 2);
  take(reinterpret_cast<void**>(&mlp_act_), T * I * 2);
  take(reinterpret_cast<void**>(&last_), S * H * 2);
  take(reinterpret_cast<void**>(&logits_), S * V * 4);
  if (shard_.size > 1) {
    take(reinterpret_cast<void**>(&logits_shard_), S * size_t(layout_.vocab_rows) * 4);
    take(reinterpret_cast<void**>(&logits_gather_), size_t(shard_.size) * S * size_t(layout_.vocab_rows) * 4);
  }
  take(reinterpret_cast<void**>(&sample_work_), S * V * 4);
  take(reinterpret_cast<void**>(&part_acc_), partials * D * 4);
  take(reinterpret_cast<void**>(&part_ml_), partials * 2 * 4);
  take(reinterpret_cast<void**>(&norm_parts_), (H / 8) * 4);
  take(reinterpret_cast<void**>(&split_counters_), S * c.num_kv_heads * 4);
  take(reinterpret_cast<void**>(&rope_cs_), T * size_t(c.rotary_dim / 2) * sizeof(float2));
  take(reinterpret_cast<void**>(&meta_dev_), layout.total * 4);
  take(reinterpret_cast<void**>(&specs_dev_), S * sizeof(SampleSpec));
  take(reinterpret_cast<void**>(&out_dev_), S * sizeof(SampleOut));
  const cudaError_t err = try_cuda_malloc(&act_, off);
  if (err != cudaSuccess) {
    throw std::runtime_error("CUDA executor on " + name_ + ": cannot allocate " + std::to_string(off >> 20) +
                             " MiB of activations for " + std::to_string(tokens) + " tokens: " +
                             cudaGetErrorString(err));
  }
  for (auto& [p, o] : slots) *p = static_cast<char*>(act_) + o;
  CUDA_CHECK(cudaMemset(split_counters_, 0, S * c.num_kv_heads * 4));  // the split kernel leaves them zero
  meta_ints_ = layout.total;
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&meta_host_), meta_ints_ * 4, cudaHostAllocDefault));
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&specs_host_), S * sizeof(SampleSpec), cudaHostAllocDefault));
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&out_host_), S * sizeof(SampleOut), cudaHostAllocDefault));
}

void CudaExecutor::free_activations() {
  if (act_) cudaFree(act_);
  act_ = nullptr;
  if (meta_host_) cudaFreeHost(meta_host_);
  if (specs_host_) cudaFreeHost(specs_host_);
  if (out_host_) cudaFreeHost(out_host_);
  meta_host_ = nullptr;
  specs_host_ = nullptr;
  out_host_ = nullptr;
}

void CudaExecutor::ensure_adjust_capacity(size_t n) {
  if (n <= size_t(cap_adjust_)) return;
  const size_t cap = std::max<size_t>(n, 2 * size_t(cap_adjust_));
  if (adjust_dev_) cudaFree(adjust_dev_);
  if (adjust_host_) cudaFreeHost(adjust_host_);
  adjust_dev_ = nullptr;
  adjust_host_ = nullptr;
  CUDA_CHECK(cudaMalloc(&adjust_dev_, cap * sizeof(LogitAdjust)));
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&adjust_host_), cap * sizeof(LogitAdjust), cudaHostAllocDefault));
  cap_adjust_ = int(cap);
}

void CudaExecutor::size_kv_cache() {
  block_elems_ = size_t(options_.block_size) * config_.num_kv_heads * config_.head_dim;
  const size_t per_block = 2 * size_t(config_.num_layers) * block_elems_ * 2;
  ensure_adjust_capacity(4096);
  size_t blocks = 0;
  if (options_.num_kv_blocks > 0) {
    blocks = size_t(options_.num_kv_blocks);
  } else {
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const double reserve = double(size_t(512) << 20);  // cuBLAS, graphs, growth of small buffers
    const double budget = options_.gpu_memory_utilization * double(total_b) - double(total_b - free_b) - reserve;
    if (budget < double(per_block)) {
      throw ConfigError("gpu_memory_utilization " + std::to_string(options_.gpu_memory_utilization) + " on " +
                        name_ + " leaves no room for the KV cache (weights " +
                        std::to_string(weights_.bytes >> 20) + " MiB, " + std::to_string(free_b >> 20) + " of " +
                        std::to_string(total_b >> 20) + " MiB free): raise it or use a smaller model");
    }
    blocks = size_t(budget / double(per_block));
  }
  if (blocks > size_t(INT32_MAX)) blocks = INT32_MAX;
  const cudaError_t err = try_cuda_malloc(&kv_, blocks * per_block);
  if (err != cudaSuccess) {
    throw ConfigError("cannot allocate " + std::to_string(blocks) + " KV blocks (" +
                      std::to_string((blocks * per_block) >> 20) + " MiB) on " + name_ + ": " +
                      cudaGetErrorString(err) + "; lower num_kv_blocks or gpu_memory_utilization");
  }
  num_blocks_ = int32_t(blocks);
}

KvCacheInfo CudaExecutor::kv_cache_info() const {
  KvCacheInfo info;
  info.num_blocks = num_blocks_;
  info.block_size = options_.block_size;
  info.bytes_per_block = 2 * size_t(config_.num_layers) * block_elems_ * 2;
  return info;
}

size_t CudaExecutor::kv_bytes_per_token() const {
  return 2 * size_t(config_.num_layers) * config_.num_kv_heads * config_.head_dim * 2;
}

std::string CudaExecutor::device_name() const { return name_; }

__nv_bfloat16* CudaExecutor::k_cache(int layer) const { return kv_ + size_t(2 * layer) * num_blocks_ * block_elems_; }
__nv_bfloat16* CudaExecutor::v_cache(int layer) const {
  return kv_ + size_t(2 * layer + 1) * num_blocks_ * block_elems_;
}

void* CudaExecutor::kv_block_ptr(int32_t layer, int32_t block, bool value) {
  if (layer < 0 || layer >= config_.num_layers || block < 0 || block >= num_blocks_)
    throw std::out_of_range("kv_block_ptr: layer " + std::to_string(layer) + " block " + std::to_string(block) +
                            " out of range on " + name_);
  return (value ? v_cache(layer) : k_cache(layer)) + size_t(block) * block_elems_;
}

StepResult CudaExecutor::step(const StepRequest& request) {
  CUDA_CHECK(cudaSetDevice(device_));
  validate_step(request, config_, options_.block_size, num_blocks_, name_);
  const int S = int(request.seqs.size());
  StepResult result;
  if (S == 0) return result;
  bool decode = true, sends = false;
  int tokens = 0, width = 1;
  for (const SequenceWork& s : request.seqs) {
    decode &= s.tokens.size() == 1;
    sends |= s.send != nullptr;
    tokens += int(s.tokens.size());
    width = std::max(width, blocks_needed(s, options_.block_size));
  }
  const bool graph = decode && !sends && !options_.enforce_eager && S <= options_.max_num_seqs;
  const int padded = graph ? decode_bucket(S, options_.max_num_seqs) : S;
  if (tokens > cap_tokens_ || padded > cap_seqs_ || width > cap_width_) {
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    allocate_activations(std::max(tokens, cap_tokens_), std::max(padded, cap_seqs_), std::max(width, cap_width_));
  }
  Meta meta;
  build_meta(request, padded, graph, meta);
  upload_meta(meta);
  if (graph) {
    run_decode_graph(meta, padded);
  } else {
    const auto host_begin = std::chrono::steady_clock::now();
    if (sends) CUDA_CHECK(cudaEventRecord(send_begin_, stream_));
    forward(meta, decode, false, sends ? &request : nullptr);
    if (sends) {
      send_timing_.host_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - host_begin).count();
      CUDA_CHECK(cudaEventRecord(send_compute_end_, stream_));
      CUDA_CHECK(cudaEventRecord(send_copy_end_, copy_stream_));
    }
  }
  if (shard_.rank == 0) {
    sample(request, graph, result);
  } else {
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // the pinned metadata is rewritten by the next step
  }
  if (sends) {
    CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
    CUDA_CHECK(cudaEventElapsedTime(&send_timing_.forward_ms, send_begin_, send_compute_end_));
    CUDA_CHECK(cudaEventElapsedTime(&send_timing_.tail_ms, send_compute_end_, send_copy_end_));
  }
  return result;
}

void CudaExecutor::set_skip(int mask) {
  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  skip_ = mask;
  clear_graphs();
}

void CudaExecutor::run_decode_graph(const Meta& meta, int bucket) {
  auto it = graphs_.find(bucket);
  if (it != graphs_.end()) {
    CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
    return;
  }
  // First time at this size: run eagerly (this also warms cuBLAS for the shapes), then capture.
  forward(meta, true, true, nullptr);
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    forward(meta, true, true, nullptr);
  } catch (...) {
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  CUDA_CHECK(err);
  graphs_[bucket] = exec;
}

double CudaExecutor::time_decode_graph(int bucket, int reps) {
  CUDA_CHECK(cudaSetDevice(device_));
  auto it = graphs_.find(bucket);
  if (it == graphs_.end() || reps < 1) return -1.0;
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    CUDA_CHECK(cudaEventRecord(e0, stream_));
    CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
    CUDA_CHECK(cudaEventRecord(e1, stream_));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(ms);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace dynamo::gpu
