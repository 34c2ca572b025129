// kv_transfer_bench: the engine's KV transfer between two GPUs against a plain peer copy measured in
// the same run, and what sending KV layer by layer during a prefill adds to that prefill's time.
//   kv_transfer_bench [--model DIR] [--tokens 4096] [--reps 10]   (needs 2 GPUs)
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/executor/executor.h"
#include "core/model/model.h"
#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"
#include "gpu/register_backend.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace dynamo;

// Medians of the prefill's forward GPU time, the copy tail after it, and the host's enqueue time.
struct ForwardTiming {
  double forward_ms, tail_ms, host_ms;
};

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
    KvSendPlan empty_plan{decode.get(), {}, {}};  // takes the send path, ships nothing
    auto* cuda_prefill = dynamic_cast<gpu::CudaExecutor*>(prefill.get());
    auto run_prefill = [&](const KvSendPlan* send) {
      StepRequest r;
      SequenceWork w;
      w.seq_id = 1;
      w.tokens = prompt;
      w.block_table = table;
      w.sample = true;
      w.sampling = &greedy;
      w.prompt = prompt;
      w.send = send;
      r.seqs.push_back(w);
      prefill->step(r);
      if (send) {  // the copies ride the prefill executor's streams; wait for them to land
        CUDA_CHECK(cudaSetDevice(0));
        CUDA_CHECK(cudaDeviceSynchronize());
      }
    };
    // GPU time of the forward pass (compute stream) and of the copy tail, medians over reps.
    auto timed_forward = [&](const KvSendPlan* send, cudaStream_t concurrent, void* peer_dst, void* peer_src) {
      std::vector<double> fwd, tail, host;
      for (int i = 0; i <= reps; ++i) {
        if (concurrent) CUDA_CHECK(cudaMemcpyPeerAsync(peer_dst, 1, peer_src, 0, bytes, concurrent));
        run_prefill(send);
        if (concurrent) CUDA_CHECK(cudaStreamSynchronize(concurrent));
        if (i == 0) continue;  // warm-up
        fwd.push_back(cuda_prefill->last_send_timing().forward_ms);
        tail.push_back(cuda_prefill->last_send_timing().tail_ms);
        host.push_back(cuda_prefill->last_send_timing().host_ms);
      }
      return ForwardTiming{median(fwd), median(tail), median(host)};
    };
    const double peer_ms = plain_peer_copy_ms(bytes, reps);
    const double prefill_ms = time_ms(reps, [&] { run_prefill(nullptr); });
    const double prefill_send_ms = time_ms(reps, [&] { run_prefill(&plan); });
    const double copy_ms = time_ms(reps, [&] { prefill->copy_kv_blocks(*decode, table, table); });
    const ForwardTiming none = timed_forward(&empty_plan, nullptr, nullptr, nullptr);
    const ForwardTiming sending = timed_forward(&plan, nullptr, nullptr, nullptr);
    // Control: the same bytes as one unrelated peer copy running beside a prefill that sends nothing,
    // i.e. what sharing the GPU's memory and NVLink with any copy costs the compute.
    void *ctl_src = nullptr, *ctl_dst = nullptr;
    cudaStream_t ctl_stream;
    CUDA_CHECK(cudaSetDevice(1));
    CUDA_CHECK(cudaMalloc(&ctl_dst, bytes));
    CUDA_CHECK(cudaSetDevice(0));
    CUDA_CHECK(cudaMalloc(&ctl_src, bytes));
    CUDA_CHECK(cudaStreamCreateWithFlags(&ctl_stream, cudaStreamNonBlocking));
    const double fwd_ctl = timed_forward(&empty_plan, ctl_stream, ctl_dst, ctl_src).forward_ms;
    const double gb = bytes / 1e9;
    const int layers = int(model.config.num_layers);
    std::printf("model %s, %d-token prompt = %d KV blocks = %.1f MB of KV (all layers, K and V)\n",
                describe(model.config).c_str(), tokens, blocks, bytes / 1e6);
    std::printf("plain peer copy, one cudaMemcpyPeerAsync:   %8.3f ms  %7.1f GB/s\n", peer_ms, gb / (peer_ms * 1e-3));
    std::printf("copy_kv_blocks (per layer, K and V runs):   %8.3f ms  %7.1f GB/s  = %.2f of plain peer copy\n",
                copy_ms, gb / (copy_ms * 1e-3), peer_ms / copy_ms);
    std::printf("prefill step alone (wall):                  %8.3f ms\n", prefill_ms);
    std::printf("prefill step with layer-by-layer send:      %8.3f ms  (+%.3f ms, %.1f%%; the copy alone takes %.3f ms)\n",
                prefill_send_ms, prefill_send_ms - prefill_ms, 100.0 * (prefill_send_ms / prefill_ms - 1), copy_ms);
    std::printf("forward GPU time, nothing sent:             %8.3f ms\n", none.forward_ms);
    std::printf("forward GPU time, layer-by-layer send:      %8.3f ms  (+%.3f ms); copy tail after the forward %.3f ms "
                "(one layer's share of the copy: %.3f ms)\n",
                sending.forward_ms, sending.forward_ms - none.forward_ms, std::max(0.0, sending.tail_ms),
                copy_ms / layers);
    std::printf("host time enqueuing the forward: %.3f ms with nothing sent, %.3f ms with the send "
                "(DYNAMO_KV_SEND_AFTER=%s)\n", none.host_ms, sending.host_ms,
                std::getenv("DYNAMO_KV_SEND_AFTER") ? std::getenv("DYNAMO_KV_SEND_AFTER") : "store");
    std::printf("forward GPU time, beside an unrelated copy: %8.3f ms  (+%.3f ms): the cost of sharing memory/NVLink "
                "with any copy of these bytes\n",
                fwd_ctl, fwd_ctl - none.forward_ms);
    CUDA_CHECK(cudaStreamDestroy(ctl_stream));
    CUDA_CHECK(cudaFree(ctl_src));
    CUDA_CHECK(cudaSetDevice(1));
    CUDA_CHECK(cudaFree(ctl_dst));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kv_transfer_bench: error: %s\n", e.what());
    return 1;
  }
}
