// kv_transfer_bench: the engine's KV transfer between two GPUs against a plain peer copy measured in
// the same run, and what sending KV layer by layer during a prefill adds to that prefill's time.
//   kv_transfer_bench [--model DIR] [--tokens 4096] [--reps 10]   (needs 2 GPUs)
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/executor/executor.h"
#include "core/model/model.h"
#include "gpu/cuda_check.h"
#include "gpu/register_backend.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace dynamo;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double time_ms(int reps, F&& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return median(t);
}

// One big cudaMemcpyPeerAsync of `bytes` from GPU 0 to GPU 1: the limit the transfer is held to.
double plain_peer_copy_ms(size_t bytes, int reps) {
  void *a = nullptr, *b = nullptr;
  CUDA_CHECK(cudaSetDevice(0));
  CUDA_CHECK(cudaMalloc(&a, bytes));
  CUDA_CHECK(cudaMemset(a, 1, bytes));
  (void)cudaDeviceEnablePeerAccess(1, 0);
  (void)cudaGetLastError();
  CUDA_CHECK(cudaSetDevice(1));
  CUDA_CHECK(cudaMalloc(&b, bytes));
  (void)cudaDeviceEnablePeerAccess(0, 0);
  (void)cudaGetLastError();
  CUDA_CHECK(cudaSetDevice(0));
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  const double ms = time_ms(reps, [&] {
    CUDA_CHECK(cudaMemcpyPeerAsync(b, 1, a, 0, bytes, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
  });
  CUDA_CHECK(cudaStreamDestroy(s));
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaSetDevice(1));
  CUDA_CHECK(cudaFree(b));
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  auto get = [&](const char* k, const char* d) { return args.count(k) ? args[k] : std::string(d); };
  try {
    dynamo::gpu::register_backend();
    int n = 0;
    CUDA_CHECK(cudaGetDeviceCount(&n));
    if (n < 2) {
      std::fprintf(stderr, "kv_transfer_bench needs 2 GPUs, found %d\n", n);
      return 77;
    }
    const Model model = load_model(get("--model", "configs/models/llama-3.1-8b"), LoadFormat::Dummy);
    const int tokens = std::stoi(get("--tokens", "4096"));
    const int reps = std::stoi(get("--reps", "10"));
    ExecutorOptions o;
    o.num_kv_blocks = tokens / 16 + 64;
    o.max_num_seqs = 8;
    o.device = "cuda:0";
    auto prefill = make_executor(model, o);
    o.device = "cuda:1";
    auto decode = make_executor(model, o);
    const KvCacheInfo kv = prefill->kv_cache_info();
    const int blocks = (tokens + kv.block_size - 1) / kv.block_size;
    std::vector<int32_t> prompt(tokens), table(blocks);
    for (int i = 0; i < tokens; ++i) prompt[i] = 1000 + (i * 7919) % 100000;
    std::iota(table.begin(), table.end(), 0);
    const size_t bytes = size_t(blocks) * kv.bytes_per_block;

    SamplingParams greedy;
    greedy.temperature = 0;
    KvSendPlan plan{decode.get(), table, table};
    auto run_prefill = [&](bool send) {
      StepRequest r;
      SequenceWork w;
      w.seq_id = 1;
      w.tokens = prompt;
      w.block_table = table;
      w.sample = true;
      w.sampling = &greedy;
      w.prompt = prompt;
      w.send = send ? &plan : nullptr;
      r.seqs.push_back(w);
      prefill->step(r);
      if (send) {  // the copies ride the prefill executor's streams; wait for them to land
        CUDA_CHECK(cudaSetDevice(0));
        CUDA_CHECK(cudaDeviceSynchronize());
      }
    };
    const double peer_ms = plain_peer_copy_ms(bytes, reps);
    const double prefill_ms = time_ms(reps, [&] { run_prefill(false); });
    const double prefill_send_ms = time_ms(reps, [&] { run_prefill(true); });
    const double copy_ms = time_ms(reps, [&] { prefill->copy_kv_blocks(*decode, table, table); });
    const double gb = bytes / 1e9;
    std::printf("model %s, %d-token prompt = %d KV blocks = %.1f MB of KV (all layers, K and V)\n",
                describe(model.config).c_str(), tokens, blocks, bytes / 1e6);
    std::printf("plain peer copy, one cudaMemcpyPeerAsync:   %8.3f ms  %7.1f GB/s\n", peer_ms, gb / (peer_ms * 1e-3));
    std::printf("copy_kv_blocks (per layer, K and V runs):   %8.3f ms  %7.1f GB/s  = %.2f of plain peer copy\n",
                copy_ms, gb / (copy_ms * 1e-3), peer_ms / copy_ms);
    std::printf("prefill alone:                              %8.3f ms\n", prefill_ms);
    std::printf("prefill with layer-by-layer send:           %8.3f ms  (+%.3f ms, %.1f%%; the copy alone takes %.3f ms)\n",
                prefill_send_ms, prefill_send_ms - prefill_ms, 100.0 * (prefill_send_ms / prefill_ms - 1), copy_ms);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kv_transfer_bench: error: %s\n", e.what());
    return 1;
  }
}
