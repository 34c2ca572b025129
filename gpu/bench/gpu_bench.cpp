// gpu_bench: measures the CUDA executor against the device's own ceilings, and dumps greedy runs for
// the Hugging Face comparison (tests/gpu/hf_compare.py).
//   gpu_bench bench --model DIR [--batches 1,8,32,64,128] [--contexts 1024,4096] [--prefill 4096]
//   gpu_bench dump --model DIR --prompts FILE --steps N --out FILE [--device cuda:0 | cuda:0,1]
//   gpu_bench attention [--tokens 4096] [--heads 32] [--kv-heads 8] [--head-dim 128] [--reps 20]
//   gpu_bench tp --model DIR --device cuda:0,1 [--batches 1,32] [--context 1024] [--reps 30]
//   gpu_bench parts --model DIR [--batches 1] [--contexts 1024,4096] [--reps 20]
//   gpu_bench timeline --model DIR [--batches 1] [--contexts 1024,4096] [--reps 5]   (a -DDYNAMO_TIMELINE=1 build)
//   gpu_bench l2 [--in 4096] [--out 4096] [--reps 30]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/executor/executor_registry.h"
#include "core/model/model.h"
#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"
#include "gpu/kernels/attention_prefill.cuh"
#include "gpu/kernels/attention_prefill_mma.cuh"
#include "gpu/bench/l2_bench.h"
#include "gpu/bench/timeline_report.h"
#include "gpu/kernels/weight_init.cuh"
#include "gpu/linear.h"
#include "gpu/register_backend.h"
#include "gpu/timeline.h"
#include "gpu/tp_executor.h"

namespace dynamo::gpu {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoi(item));
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Device-to-device copy bandwidth, counting bytes read plus bytes written.
double copy_bandwidth(cudaStream_t s) {
  const size_t bytes = size_t(2) << 30;
  void *a = nullptr, *b = nullptr;
  CUDA_CHECK(cudaMalloc(&a, bytes));
  CUDA_CHECK(cudaMalloc(&b, bytes));
  CUDA_CHECK(cudaMemsetAsync(a, 1, bytes, s));
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  std::vector<double> t;
  for (int i = 0; i < 13; ++i) {
    CUDA_CHECK(cudaEventRecord(e0, s));
    CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    CUDA_CHECK(cudaEventRecord(e1, s));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    if (i >= 3) t.push_back(ms);
  }
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (median(t) * 1e-3);
}

// cuBLAS bf16 GEMM rate (fp32 accumulate) on random data, n x n x n.
double gemm_peak(cudaStream_t s, int n) {
  Linear lin(s);
  __nv_bfloat16 *a, *b, *c;
  CUDA_CHECK(cudaMalloc(&a, size_t(n) * n * 2));
  CUDA_CHECK(cudaMalloc(&b, size_t(n) * n * 2));
  CUDA_CHECK(cudaMalloc(&c, size_t(n) * n * 2));
  fill_normal_bf16(a, size_t(n) * n, 1, 1.f, s);
  fill_normal_bf16(b, size_t(n) * n, 2, 1.f, s);
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  std::vector<double> t;
  for (int i = 0; i < 13; ++i) {
    CUDA_CHECK(cudaEventRecord(e0, s));
    lin.forward(a, b, c, n, n, n);
    CUDA_CHECK(cudaEventRecord(e1, s));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    if (i >= 3) t.push_back(ms);
  }
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return 2.0 * n * double(n) * n / (median(t) * 1e-3);
}

struct Args {
  std::map<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
};

// One decode step of B sequences, each with C - 1 tokens already cached in its own per_seq blocks
// (sequence b owns blocks b * per_seq ..), sampling greedily. Owns the spans' storage.
struct DecodeBatch {
  // KV blocks the batch occupies (compare with the cache's num_blocks before building one).
  static int64_t blocks(int B, int C, int block_size) { return int64_t(B) * ((C + block_size - 1) / block_size); }

  DecodeBatch(int B, int C, int block_size, const SamplingParams& greedy)
      : tables(B), toks(B, std::vector<int32_t>{1}) {
    const int per_seq = (C + block_size - 1) / block_size;
    for (int b = 0; b < B; ++b) {
      for (int k = 0; k < per_seq; ++k) tables[b].push_back(b * per_seq + k);
      SequenceWork w;
      w.seq_id = b;
      w.tokens = toks[b];
      w.num_cached = C - 1;
      w.block_table = tables[b];
      w.sample = true;
      w.sampling = &greedy;
      req.seqs.push_back(w);
    }
  }
  DecodeBatch(const DecodeBatch&) = delete;  // req points into tables and toks
  std::vector<std::vector<int32_t>> tables, toks;
  StepRequest req;
};

// Random KV contents (never time on zeros): the whole cache is one allocation starting at layer 0 K.
void fill_kv_random(CudaExecutor& ex, cudaStream_t s) {
  const KvCacheInfo info = ex.kv_cache_info();
  fill_normal_bf16(static_cast<__nv_bfloat16*>(ex.kv_block_ptr(0, 0, false)),
                   size_t(info.num_blocks) * info.bytes_per_block / 2, 7, 1.f, s);
  CUDA_CHECK(cudaStreamSynchronize(s));
}

// Weight bytes one decode step reads: all but the input embedding table (one row per token).
double decode_weight_bytes(const CudaExecutor& ex, const ModelConfig& c) {
  const size_t embed_bytes = c.tie_word_embeddings ? 0 : size_t(c.vocab_size) * c.hidden_size * 2;
  return double(ex.weight_bytes() - embed_bytes);
}

// Times `reps` calls of step() (each ends with the sampled ids on the host); returns the median in ms.
double time_steps(Executor& ex, const StepRequest& req, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) ex.step(req);
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    ex.step(req);
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return median(t);
}

int bench(const Args& args) {
  const Model model = load_model(args.get("--model", "configs/models/llama-3.1-8b"), LoadFormat::Dummy);
  const ModelConfig& c = model.config;
  CUDA_CHECK(cudaSetDevice(0));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  const double bw = copy_bandwidth(s);
  const double peak = gemm_peak(s, 8192);
  std::printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  std::printf("device copy bandwidth (read+write): %.0f GB/s; cuBLAS bf16 8192^3: %.1f TFLOP/s\n", bw / 1e9,
              peak / 1e12);
  std::printf("model: %s\n", describe(c).c_str());
  {  // Skinny-kernel bandwidth on the MLP's gate/up shape, 8 weight copies (> L2) in rotation.
    Linear lin(s);
    const int in = int(c.hidden_size), out = int(2 * c.intermediate_size), copies = 8;
    __nv_bfloat16 *w = nullptr, *x = nullptr, *y = nullptr;
    CUDA_CHECK(cudaMalloc(&w, size_t(copies) * in * out * 2));
    CUDA_CHECK(cudaMalloc(&x, size_t(in) * 2));
    CUDA_CHECK(cudaMalloc(&y, size_t(out) * 2));
    fill_normal_bf16(w, size_t(copies) * in * out, 3, 0.02f, s);
    fill_normal_bf16(x, in, 4, 1.f, s);
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    for (int rows_kind = 0; rows_kind < 2; ++rows_kind) {
      lin.set_gemv_max_rows(rows_kind == 0 ? 8 : 0);
      for (int i = 0; i < copies; ++i) lin.forward(x, w + size_t(i) * in * out, y, 1, in, out);
      CUDA_CHECK(cudaEventRecord(e0, s));
      for (int r = 0; r < 5; ++r)
        for (int i = 0; i < copies; ++i) lin.forward(x, w + size_t(i) * in * out, y, 1, in, out);
      CUDA_CHECK(cudaEventRecord(e1, s));
      CUDA_CHECK(cudaEventSynchronize(e1));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
      std::printf("1-row product [1, %d] x [%d, %d]^T, %s: %.1f us, %.0f GB/s read\n", in, out, in,
                  rows_kind == 0 ? "skinny kernel" : "cuBLAS", ms * 1e3 / (5 * copies),
                  double(in) * out * 2 * 5 * copies / (ms * 1e-3) / 1e9);
    }
    cudaFree(w);
    cudaFree(x);
    cudaFree(y);
  }
  const auto batches = parse_list(args.get("--batches", "1,8,32,64,128"));
  const auto contexts = parse_list(args.get("--contexts", "1024,4096"));
  const int prefill_len = std::stoi(args.get("--prefill", "4096"));
  const int reps = std::stoi(args.get("--reps", "20"));
  ExecutorOptions o;
  o.device = "cuda:0";
  o.max_model_len = std::max(8192, prefill_len + 16);
  o.max_num_seqs = *std::max_element(batches.begin(), batches.end());
  o.gpu_memory_utilization = std::stod(args.get("--gpu-memory-utilization", "0.90"));
  o.enforce_eager = args.get("--eager", "0") == "1";
  const auto t0 = Clock::now();
  CudaExecutor ex(model, o);
  std::printf("executor ready in %.1f s: weights %.2f GiB, %d KV blocks of %d tokens\n",
              std::chrono::duration<double>(Clock::now() - t0).count(), ex.weight_bytes() / 1073741824.0,
              ex.kv_cache_info().num_blocks, ex.kv_cache_info().block_size);
  const KvCacheInfo info = ex.kv_cache_info();
  fill_kv_random(ex, s);
  const double weights_read = decode_weight_bytes(ex, c);
  SamplingParams greedy;
  greedy.temperature = 0.f;
  std::printf("\n| batch | context | step ms | floor ms | ratio | tokens/s | graph replay ms |\n"
              "|---|---|---|---|---|---|---|\n");
  for (int C : contexts) {
    for (int B : batches) {
      const int64_t need = DecodeBatch::blocks(B, C, info.block_size);
      if (need > info.num_blocks) {
        std::printf("| %d | %d | does not fit (%lld blocks needed, %d available) | | | |\n", B, C, (long long)need,
                    info.num_blocks);
        continue;
      }
      const DecodeBatch batch(B, C, info.block_size, greedy);
      const StepRequest& req = batch.req;
      const double ms = time_steps(ex, req, 3, reps);
      const double floor_ms = (weights_read + double(B) * C * ex.kv_bytes_per_token()) / bw * 1e3;
      const double replay = ex.time_decode_graph(decode_bucket(B, B), reps);  // GPU time without host work
      std::printf("| %d | %d | %.3f | %.3f | %.2f | %.0f | %.3f |\n", B, C, ms, floor_ms, ms / floor_ms, B / ms * 1e3,
                  replay);
      std::fflush(stdout);
    }
  }
  if (prefill_len > 0) {
    const int T = prefill_len;
    std::vector<int32_t> toks(T), table;
    for (int i = 0; i < T; ++i) toks[i] = int32_t((i * 7919) % c.vocab_size);
    for (int k = 0; k < (T + info.block_size - 1) / info.block_size; ++k) table.push_back(k);
    StepRequest req;
    SequenceWork w;
    w.tokens = toks;
    w.block_table = table;
    w.sample = true;
    w.sampling = &greedy;
    req.seqs.push_back(w);
    const double ms = time_steps(ex, req, 2, 5);
    const double H = c.hidden_size, I = c.intermediate_size, D = c.head_dim, L = c.num_layers;
    const double qkvd = (c.num_heads + 2 * c.num_kv_heads) * D, qd = c.num_heads * D;
    const double linear = 2.0 * T * L * (H * qkvd + qd * H + 3 * H * I) + 2.0 * H * c.vocab_size;
    const double attn = 2.0 * D * c.num_heads * L * double(T) * T;  // causal QK^T + PV
    const double flops = linear + attn;
    std::printf("\nprefill %d tokens: %.1f ms, %.0f tok/s, %.1f TFLOP/s model (%.1f linear + %.1f attention "
                "TFLOP), %.2f of cuBLAS peak\n",
                T, ms, T / ms * 1e3, flops / ms / 1e9, linear / 1e12, attn / 1e12, flops / ms / 1e9 / (peak / 1e12));
  }
  return 0;
}

template <PrefillMmaVariant V>
void mma_variant(const AttentionPrefillParams& p, cudaStream_t stream) {
  attention_prefill_mma(p, V, stream);
}

// One layer's prefill attention for a prompt of --tokens (causal, no prefix) through each kernel and
// variant, on
// random q and a randomly paged K/V cache: median of --reps launches timed with events.
int attention(const Args& args) {
  const int T = std::stoi(args.get("--tokens", "4096")), nq = std::stoi(args.get("--heads", "32"));
  const int nkv = std::stoi(args.get("--kv-heads", "8")), D = std::stoi(args.get("--head-dim", "128"));
  const int reps = std::stoi(args.get("--reps", "20")), bs = 16;
  CUDA_CHECK(cudaSetDevice(0));
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  const int blocks = (T + bs - 1) / bs;
  std::vector<int32_t> table(blocks), meta;
  for (int i = 0; i < blocks; ++i) table[i] = int32_t((size_t(i) * 7919) % blocks);  // scattered blocks
  meta.insert(meta.end(), table.begin(), table.end());
  meta.insert(meta.end(), {0, T, 0});  // q_start, q_len, num_cached
  for (int t = 0; t < T; t += kPrefillTileRows) meta.insert(meta.end(), {0, t});
  const int num_work = (T + kPrefillTileRows - 1) / kPrefillTileRows;
  __nv_bfloat16 *q, *out, *kc, *vc;
  int32_t* dmeta;
  const size_t q_elems = size_t(T) * nq * D, kv_elems = size_t(blocks) * bs * nkv * D;
  CUDA_CHECK(cudaMalloc(&q, q_elems * 2));
  CUDA_CHECK(cudaMalloc(&out, q_elems * 2));
  CUDA_CHECK(cudaMalloc(&kc, kv_elems * 2));
  CUDA_CHECK(cudaMalloc(&vc, kv_elems * 2));
  CUDA_CHECK(cudaMalloc(&dmeta, meta.size() * 4));
  CUDA_CHECK(cudaMemcpy(dmeta, meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
  fill_normal_bf16(q, q_elems, 11, 1.f, s);
  fill_normal_bf16(kc, kv_elems, 12, 1.f, s);
  fill_normal_bf16(vc, kv_elems, 13, 1.f, s);
  AttentionPrefillParams p;
  p.q = q;
  p.q_stride = nq * D;
  p.out = out;
  p.out_stride = nq * D;
  p.k_cache = kc;
  p.v_cache = vc;
  p.block_tables = dmeta;
  p.bt_stride = blocks;
  p.q_start = dmeta + blocks;
  p.q_len = dmeta + blocks + 1;
  p.num_cached = dmeta + blocks + 2;
  p.work = dmeta + blocks + 3;
  p.num_work = num_work;
  p.num_heads = nq;
  p.num_kv_heads = nkv;
  p.head_dim = D;
  p.block_size = bs;
  p.scale = 1.f / std::sqrt(float(D));
  const double flops = 2.0 * D * nq * double(T) * T;  // causal QK^T + PV (half of 4 * T^2 * D per head)
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  std::printf("prefill attention, one layer: %d tokens, %d q heads, %d kv heads, head_dim %d\n", T, nq, nkv, D);
  using Fn = void (*)(const AttentionPrefillParams&, cudaStream_t);
  const std::pair<const char*, Fn> kernels[] = {
      {"mma 16 rows x 1 head", mma_variant<PrefillMmaVariant::Rows16Heads1>},
      {"mma 16 rows x 2 heads", mma_variant<PrefillMmaVariant::Rows16Heads2>},
      {"mma 32 rows x 2 heads", mma_variant<PrefillMmaVariant::Rows32Heads2>},
      {"wmma (first kernel)", attention_prefill_wmma}};
  for (const auto& [name, fn] : kernels) {
    std::vector<double> t;
    for (int i = 0; i < reps + 3; ++i) {
      CUDA_CHECK(cudaEventRecord(e0, s));
      fn(p, s);
      CUDA_CHECK(cudaEventRecord(e1, s));
      CUDA_CHECK(cudaEventSynchronize(e1));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
      if (i >= 3) t.push_back(ms);
    }
    const double ms = median(t);
    std::printf("  %-30s %.3f ms, %.1f TFLOP/s\n", name, ms, flops / ms / 1e9);
  }
  cudaFree(q);
  cudaFree(out);
  cudaFree(kc);
  cudaFree(vc);
  cudaFree(dmeta);
  return 0;
}

// Tensor-parallel decode: step time (the ITL a client sees) at each batch over a fixed context, with
// and without the all-reduces, and without the all-gather of the vocab-sharded logits to rank 0
// (skipped: same kernels and shapes, wrong numbers); the differences are their shares of the step.
// The gather's share bounds what a sharded top-k sampler could save.
int tp_bench(const Args& args) {
  const Model model = load_model(args.get("--model", "configs/models/llama-3.1-70b"), LoadFormat::Dummy);
  const ModelConfig& c = model.config;
  const auto batches = parse_list(args.get("--batches", "1,32"));
  const int C = std::stoi(args.get("--context", "1024"));
  const int reps = std::stoi(args.get("--reps", "30"));
  ExecutorOptions o;
  o.device = args.get("--device", "cuda:0,1");
  o.max_model_len = C + 16;
  o.max_num_seqs = *std::max_element(batches.begin(), batches.end());
  o.gpu_memory_utilization = std::stod(args.get("--gpu-memory-utilization", "0.90"));
  std::printf("model: %s\n", describe(c).c_str());
  const auto t0 = Clock::now();
  TpExecutor ex(model, o);
  const KvCacheInfo info = ex.kv_cache_info();
  size_t weights = 0;
  for (CudaExecutor* r : ex.ranks()) {
    weights += r->weight_bytes();
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaSetDevice(r->device()));
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    std::printf("  %s: weights %.2f GiB, %.1f of %.1f GiB in use\n", r->device_name().c_str(),
                r->weight_bytes() / 1073741824.0, (total_b - free_b) / 1073741824.0, total_b / 1073741824.0);
    fill_kv_random(*r, nullptr);
  }
  std::printf("%s ready in %.1f s: weights %.2f GiB over %d GPUs, %d KV blocks of %d tokens\n",
              ex.device_name().c_str(), std::chrono::duration<double>(Clock::now() - t0).count(),
              weights / 1073741824.0, ex.tp(), info.num_blocks, info.block_size);
  SamplingParams greedy;
  greedy.temperature = 0.f;
  std::printf("\n| TP | batch | context | step ms (ITL) | without all-reduce ms | all-reduce share | "
              "without logits gather ms | gather share | tokens/s |\n|---|---|---|---|---|---|---|---|---|\n");
  for (int B : batches) {
    if (DecodeBatch::blocks(B, C, info.block_size) > info.num_blocks) {
      std::printf("| %d | %d | %d | does not fit | | | | | |\n", ex.tp(), B, C);
      continue;
    }
    const DecodeBatch batch(B, C, info.block_size, greedy);
    const StepRequest& req = batch.req;
    const double ms = time_steps(ex, req, 3, reps);
    ex.set_skip(CudaExecutor::kSkipAllReduce);
    const double bare = time_steps(ex, req, 3, reps);
    ex.set_skip(CudaExecutor::kSkipGather);
    const double no_gather = time_steps(ex, req, 3, reps);
    ex.set_skip(0);
    std::printf("| %d | %d | %d | %.3f | %.3f | %.1f%% | %.3f | %.1f%% | %.0f |\n", ex.tp(), B, C, ms, bare,
                100.0 * (ms - bare) / ms, no_gather, 100.0 * (ms - no_gather) / ms, B / ms * 1e3);
    std::fflush(stdout);
  }
  return 0;
}

// The executor of the decode studies (parts, timeline): GPU 0, contexts up to 8k, the largest batch.
ExecutorOptions study_options(const std::vector<int>& batches) {
  ExecutorOptions o;
  o.device = "cuda:0";
  o.max_model_len = 8192;
  o.max_num_seqs = *std::max_element(batches.begin(), batches.end());
  return o;
}

// Where a decode step's time goes: the step's graph replayed with parts of the forward left out
// (CudaExecutor::set_skip: wrong numbers, same shapes for the rest). "products only" streams every
// weight through the skinny products and the LM head with nothing between them: its bandwidth is
// what the weight stream reaches inside a step.
int parts_bench(const Args& args) {
  const Model model = load_model(args.get("--model", "configs/models/llama-3.1-8b"), LoadFormat::Dummy);
  const ModelConfig& c = model.config;
  const auto batches = parse_list(args.get("--batches", "1"));
  const auto contexts = parse_list(args.get("--contexts", "1024,4096"));
  const int reps = std::stoi(args.get("--reps", "20"));
  CUDA_CHECK(cudaSetDevice(0));
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  const double bw = copy_bandwidth(s);
  std::printf("device copy bandwidth (read+write): %.0f GB/s\nmodel: %s\n", bw / 1e9, describe(c).c_str());
  CudaExecutor ex(model, study_options(batches));
  const KvCacheInfo info = ex.kv_cache_info();
  fill_kv_random(ex, s);
  const double weights_read = decode_weight_bytes(ex, c);
  SamplingParams greedy;
  greedy.temperature = 0.f;
  using E = CudaExecutor;
  const std::pair<const char*, int> settings[] = {
      {"whole step", 0},
      {"without RoPE + KV store + attention", E::kSkipAttention},
      {"without the in-layer norms", E::kSkipNorms},
      {"without the in-layer products", E::kSkipProducts},
      {"products only (+ embedding, final norm, LM head)", E::kSkipAttention | E::kSkipNorms},
      {"attention + norms only (+ LM head)", E::kSkipProducts},
      {"attention only (+ LM head)", E::kSkipProducts | E::kSkipNorms},
      {"LM head only (+ embedding, final norm)", E::kSkipProducts | E::kSkipNorms | E::kSkipAttention},
      {"QKV + o_proj products only (+ LM head)", E::kSkipAttention | E::kSkipNorms | E::kSkipMlpProducts},
      {"gate/up + down products only (+ LM head)", E::kSkipAttention | E::kSkipNorms | E::kSkipAttnProducts}};
  std::printf("\n| batch | context | parts | graph replay ms | weight stream GB/s (products only) |\n"
              "|---|---|---|---|---|\n");
  for (int C : contexts) {
    for (int B : batches) {
      if (DecodeBatch::blocks(B, C, info.block_size) > info.num_blocks) continue;
      const DecodeBatch batch(B, C, info.block_size, greedy);
      for (const auto& [name, mask] : settings) {
        ex.set_skip(mask);
        time_steps(ex, batch.req, 3, 3);  // captures the graph for this setting
        const double ms = ex.time_decode_graph(decode_bucket(B, B), reps);
        const bool stream_only = mask == (E::kSkipAttention | E::kSkipNorms);
        std::printf("| %d | %d | %s | %.3f | %s |\n", B, C, name, ms,
                    stream_only ? std::to_string(int(weights_read / (ms * 1e-3) / 1e9)).c_str() : "");
        std::fflush(stdout);
      }
      ex.set_skip(0);
    }
  }
  return 0;
}

// Where a decode step's time goes, block by block: one replay of the step's graph recorded by the
// instrumented kernels (gpu/kernels/timeline.cuh), grouped into launches, reported per position in a
// layer (gpu/bench/timeline_report.cpp). Of `reps` recorded replays the one of median length is shown.
int timeline_bench(const Args& args) {
  if (!Timeline::compiled_in())
    throw std::runtime_error("timeline: this gpu_bench was built without -DDYNAMO_TIMELINE=1 in CMAKE_CUDA_FLAGS");
  const Model model = load_model(args.get("--model", "configs/models/llama-3.1-8b"), LoadFormat::Dummy);
  const ModelConfig& c = model.config;
  const auto batches = parse_list(args.get("--batches", "1"));
  const auto contexts = parse_list(args.get("--contexts", "1024,4096"));
  const int reps = std::max(1, std::stoi(args.get("--reps", "5")));
  CUDA_CHECK(cudaSetDevice(0));
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  std::printf("model: %s\n", describe(c).c_str());
  CudaExecutor ex(model, study_options(batches));
  const KvCacheInfo info = ex.kv_cache_info();
  fill_kv_random(ex, s);
  const double H = double(c.hidden_size), D = double(c.head_dim), I = double(c.intermediate_size);
  const std::vector<ProductShape> products = {{"QKV", (c.num_heads + 2.0 * c.num_kv_heads) * D * H * 2},
                                              {"o_proj", H * c.num_heads * D * 2},
                                              {"gate/up + SwiGLU", 2 * I * H * 2},
                                              {"down", H * I * 2}};
  SamplingParams greedy;
  greedy.temperature = 0.f;
  Timeline tl(uint32_t(1) << 20);
  for (int C : contexts) {
    for (int B : batches) {
      if (DecodeBatch::blocks(B, C, info.block_size) > info.num_blocks) continue;
      const DecodeBatch batch(B, C, info.block_size, greedy);
      time_steps(ex, batch.req, 3, 3);  // captures the graph
      const int bucket = decode_bucket(B, B);
      const double plain = ex.time_decode_graph(bucket, 20);
      std::vector<std::vector<TimelineRecord>> runs;
      for (int r = 0; r < reps; ++r) {
        tl.start();
        ex.time_decode_graph(bucket, 1);
        runs.push_back(tl.stop());
      }
      std::sort(runs.begin(), runs.end(),
                [](const auto& a, const auto& b) { return timeline_span_us(a) < timeline_span_us(b); });
      std::printf("\n### batch %d, context %d: graph replay %.3f ms (median of 20, this build, not recording), recorded replays "
                  "%.1f..%.1f us\n", B, C, plain, timeline_span_us(runs.front()), timeline_span_us(runs.back()));
      print_timeline_report(runs[runs.size() / 2], int(c.num_layers), products);
      std::fflush(stdout);
    }
  }
  return 0;
}

constexpr int kTopLogits = 32;  // per step of a dump

// The k largest of a logits row as (token, logit), largest first.
std::vector<std::pair<int32_t, float>> top_logits(const float* row, size_t V, int k) {
  std::vector<int32_t> ids(V);
  for (size_t t = 0; t < V; ++t) ids[t] = int32_t(t);
  const size_t n = std::min(V, size_t(k));
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
  std::vector<std::pair<int32_t, float>> top(n);
  for (size_t j = 0; j < n; ++j) top[j] = {ids[j], row[ids[j]]};
  return top;
}

// Greedy runs for the HF comparison; one JSON object per prompt and mode on its own line.
int dump(const Args& args) {
  const Model model = load_model(args.get("--model", ""), LoadFormat::Auto);
  const int steps = std::stoi(args.get("--steps", "64"));
  std::ifstream in(args.get("--prompts", ""));
  std::vector<std::vector<int32_t>> prompts;
  for (std::string line; std::getline(in, line);) {
    std::stringstream ss(line);
    std::vector<int32_t> p;
    for (int32_t t; ss >> t;) p.push_back(t);
    if (!p.empty()) prompts.push_back(p);
  }
  ExecutorOptions o;
  o.device = args.get("--device", "cuda:0");  // "cuda:0,1": a tensor-parallel executor
  o.num_kv_blocks = 4096;
  o.max_num_seqs = 64;
  register_backend();
  const auto executor = make_executor(model, o);
  Executor& ex = *executor;
  const int bs = o.block_size, per_seq = 64;
  std::ofstream out(args.get("--out", "dump.jsonl"));
  SamplingParams greedy;
  greedy.temperature = 0.f;
  // mode 0: alone; 1: batched; 2: alone with a prefix hit (first half of the prompt's full blocks cached).
  for (int mode = 0; mode < 3; ++mode) {
    const int n = int(prompts.size());
    std::vector<std::vector<int32_t>> gen(n), tables(n);
    std::vector<int> cached(n, 0);
    std::vector<std::vector<float>> first_logits(n);
    // Per sampled step, the kTopLogits largest logits as (token, logit), largest first: the tie rule of
    // hf_compare.py compares them with transformers' at a step where the greedy runs part.
    std::vector<std::vector<std::vector<std::pair<int32_t, float>>>> tops(n);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < per_seq; ++k) tables[i].push_back((mode * n + i) * per_seq + k);
    auto run = [&](std::vector<int> idx, bool prefix_only) {
      std::vector<std::vector<int32_t>> toks(idx.size());
      StepRequest req;
      req.return_logits = true;
      std::vector<int> sampled;
      for (size_t j = 0; j < idx.size(); ++j) {
        const int i = idx[j];
        std::vector<int32_t> all = prompts[i];
        all.insert(all.end(), gen[i].begin(), gen[i].end());
        int len = int(all.size()) - cached[i];
        if (prefix_only) len = (int(prompts[i].size()) / bs / 2) * bs;
        toks[j].assign(all.begin() + cached[i], all.begin() + cached[i] + len);
        SequenceWork w;
        w.seq_id = i;
        w.tokens = toks[j];
        w.num_cached = cached[i];
        w.block_table = tables[i];
        w.sample = !prefix_only;
        w.sampling = &greedy;
        w.prompt = prompts[i];
        w.generated = gen[i];
        if (!toks[j].empty()) req.seqs.push_back(w);
        if (w.sample) sampled.push_back(i);
        cached[i] += len;
      }
      if (req.seqs.empty()) return;
      StepResult r = ex.step(req);
      const size_t V = model.config.vocab_size;
      for (size_t k = 0; k < sampled.size(); ++k) {
        const int i = sampled[k];
        const float* row = r.logits.data() + k * V;
        if (gen[i].empty()) first_logits[i].assign(row, row + V);
        tops[i].push_back(top_logits(row, V, kTopLogits));
        gen[i].push_back(r.sampled[k].token);
      }
    };
    std::vector<int> everyone(n);
    for (int i = 0; i < n; ++i) everyone[i] = i;
    if (mode == 1) {
      for (int k = 0; k <= steps; ++k) run(everyone, false);
    } else {
      for (int i = 0; i < n; ++i) {
        if (mode == 2) run({i}, true);
        for (int k = 0; k <= steps; ++k) run({i}, false);
      }
    }
    for (int i = 0; i < n; ++i) {
      out << "{\"mode\": " << mode << ", \"prompt\": " << i << ", \"tokens\": [";
      for (size_t k = 0; k < gen[i].size(); ++k) out << (k ? ", " : "") << gen[i][k];
      out << "], \"logits\": [";
      for (size_t k = 0; k < first_logits[i].size(); ++k) out << (k ? ", " : "") << first_logits[i][k];
      out << "], \"top\": [";
      for (size_t k = 0; k < tops[i].size(); ++k) {
        out << (k ? ", [" : "[");
        for (size_t j = 0; j < tops[i][k].size(); ++j)
          out << (j ? ", [" : "[") << tops[i][k][j].first << ", " << tops[i][k][j].second << "]";
        out << "]";
      }
      out << "]}\n";
    }
  }
  std::printf("dumped %zu prompts x 3 modes to %s\n", prompts.size(), args.get("--out", "dump.jsonl").c_str());
  return 0;
}

// What L2 residency buys the skinny product (l2_bench.h), the o_proj shape of Llama-3.1-8B by default.
int l2(const Args& args) {
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  const double bw = copy_bandwidth(s);
  CUDA_CHECK(cudaStreamDestroy(s));
  print_l2_bench(std::stoi(args.get("--in", "4096")), std::stoi(args.get("--out", "4096")),
                 std::stoi(args.get("--reps", "30")), bw / 1e9);
  return 0;
}

}  // namespace
}  // namespace dynamo::gpu

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gpu_bench bench|dump|attention|tp|parts|timeline|l2 [--key value ...]\n");
    return 2;
  }
  dynamo::gpu::Args args;
  for (int i = 2; i + 1 < argc; i += 2) args.kv[argv[i]] = argv[i + 1];
  try {
    const std::string cmd = argv[1];
    if (cmd == "bench") return dynamo::gpu::bench(args);
    if (cmd == "dump") return dynamo::gpu::dump(args);
    if (cmd == "attention") return dynamo::gpu::attention(args);
    if (cmd == "tp") return dynamo::gpu::tp_bench(args);
    if (cmd == "parts") return dynamo::gpu::parts_bench(args);
    if (cmd == "timeline") return dynamo::gpu::timeline_bench(args);
    if (cmd == "l2") return dynamo::gpu::l2(args);
    std::fprintf(stderr, "gpu_bench: unknown command '%s'\n", cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_bench: error: %s\n", e.what());
    return 1;
  }
}
