// A small fixed pool of worker threads for the CPU executor's parallel loops (attention, norms).
// Owned by one executor and driven from that executor's thread only; parallel_for blocks until done.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dynamo::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);  // num_threads - 1 workers; the caller is the last one
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end, part) over disjoint ranges covering [0, n), at most size() of them, in
  // parallel; part in [0, size()) names the range (per-thread scratch). fn must not throw.
  // Runs inline when n is 1 or the pool has one thread.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_parts_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace dynamo::cpu
