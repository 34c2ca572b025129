// Closed- and open-loop load generation, one io_context per client thread (see runner.h).
#include "core/bench/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "core/bench/arrivals.h"
#include "core/bench/progress.h"

namespace dynamo::bench {
namespace {

double process_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

Clock::duration to_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Counters every shard updates; shard 0 draws the progress bar from them.
struct SharedProgress {
  std::atomic<size_t> finished{0}, failed{0}, in_flight{0};
  size_t total = 0;
};

// One shard's requests on one io_context. Everything here runs on that io_context's thread.
class LoadRun {
 public:
  LoadRun(boost::asio::io_context& io, StreamClient& client, const std::string& path,
          std::vector<PreparedRequest> reqs, std::vector<size_t> indices, const LoadOptions& opts,
          Clock::time_point t0, SharedProgress& shared, bool draws)
      : io_(io), client_(client), path_(path), reqs_(std::move(reqs)), indices_(std::move(indices)), opts_(opts),
        arrival_timer_(io), progress_timer_(io), records_(reqs_.size()), t0_(t0), shared_(shared) {
    if (draws && opts_.progress) bar_.emplace(opts_.label, shared_.total);
  }

  std::vector<RequestRecord> run() {
    client_.set_epoch(t0_);
    if (opts_.request_rate > 0) {
      arrivals_ = arrival_times(reqs_.size(), opts_.request_rate, opts_.burstiness, opts_.seed);
      on_arrival();
    } else {
      const size_t c = std::max<size_t>(1, opts_.concurrency);
      while (next_ < reqs_.size() && in_flight_ < c) launch(next_++, client_.now_s());
    }
    if (bar_) tick();
    io_.restart();
    io_.run();
    if (bar_) bar_->finish(shared_.finished, shared_.failed, client_.now_s());
    return std::move(records_);
  }

 private:
  bool open_loop() const { return opts_.request_rate > 0; }

  void launch(size_t i, double scheduled_s) {
    ++in_flight_;
    ++shared_.in_flight;
    RequestRecord rec;
    rec.index = i;  // local until on_done
    rec.scheduled_s = scheduled_s;
    rec.expected_isl = reqs_[i].expected_isl;
    rec.expected_osl = reqs_[i].expected_osl;
    client_.post_stream(path_, std::move(reqs_[i].body), std::move(rec),
                        [this](RequestRecord&& r) { on_done(std::move(r)); });
  }

  void on_done(RequestRecord&& r) {
    --in_flight_;
    ++finished_;
    --shared_.in_flight;
    ++shared_.finished;
    if (!r.ok) ++shared_.failed;
    const size_t local = r.index;
    r.index = indices_[local];
    records_[local] = std::move(r);
    if (open_loop()) {
      drain_ready();
    } else if (next_ < reqs_.size()) {
      launch(next_++, client_.now_s());
    }
    if (finished_ == reqs_.size()) arrival_timer_.cancel();
  }

  // Moves every request whose arrival time has come to the ready queue, then waits for the next.
  void on_arrival() {
    const double now = client_.now_s();
    while (next_ < reqs_.size() && arrivals_[next_] <= now) ready_.push_back(next_++);
    drain_ready();
    if (next_ < reqs_.size()) {
      arrival_timer_.expires_at(t0_ + to_duration(arrivals_[next_]));
      arrival_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) on_arrival();
      });
    }
  }

  void drain_ready() {
    while (!ready_.empty() && (opts_.concurrency == 0 || in_flight_ < opts_.concurrency)) {
      const size_t i = ready_.front();
      ready_.pop_front();
      launch(i, arrivals_[i]);
    }
  }

  void tick() {
    bar_->draw(shared_.finished, shared_.failed, shared_.in_flight, client_.now_s());
    progress_timer_.expires_after(std::chrono::milliseconds(200));
    progress_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && shared_.finished < shared_.total) tick();
    });
  }

  boost::asio::io_context& io_;
  StreamClient& client_;
  std::string path_;
  std::vector<PreparedRequest> reqs_;
  std::vector<size_t> indices_;  // local position -> index in the whole phase
  LoadOptions opts_;
  boost::asio::steady_timer arrival_timer_, progress_timer_;
  std::vector<RequestRecord> records_;
  std::vector<double> arrivals_;
  std::deque<size_t> ready_;
  std::optional<ProgressBar> bar_;
  Clock::time_point t0_;
  SharedProgress& shared_;
  size_t next_ = 0, in_flight_ = 0, finished_ = 0;
};

// The k-th of n even shares of `total` (0 stays 0: "no cap").
size_t share(size_t total, size_t k, size_t n) { return total / n + (k < total % n ? 1 : 0); }

}  // namespace

ClientPool::ClientPool(const Endpoint& ep, double timeout_s, size_t threads) : ep_(ep) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    auto s = std::make_unique<Shard>();
    s->client = std::make_unique<StreamClient>(s->io, ep, timeout_s);
    shards_.push_back(std::move(s));
  }
}

ClientPool::~ClientPool() = default;

RunResult ClientPool::run(const std::string& path, std::vector<PreparedRequest> requests, const LoadOptions& opts) {
  RunResult result;
  if (requests.empty()) return result;
  // A closed loop cannot use more threads than requests in flight.
  size_t n = shards_.size();
  if (opts.request_rate == 0) n = std::min(n, std::max<size_t>(1, opts.concurrency));
  n = std::min(n, requests.size());

  std::vector<std::vector<PreparedRequest>> parts(n);
  std::vector<std::vector<size_t>> indices(n);
  for (size_t i = 0; i < requests.size(); ++i) {
    parts[i % n].push_back(std::move(requests[i]));
    indices[i % n].push_back(i);
  }
  SharedProgress shared;
  shared.total = requests.size();
  const double cpu0 = process_cpu_s();
  size_t opened0 = 0;
  for (const auto& s : shards_) opened0 += s->client->connections_opened();
  const Clock::time_point t0 = Clock::now();

  std::vector<std::vector<RequestRecord>> out(n);
  auto run_shard = [&](size_t k) {
    LoadOptions o = opts;
    o.concurrency = share(opts.concurrency, k, n);
    if (opts.request_rate == 0) o.concurrency = std::max<size_t>(1, o.concurrency);
    if (opts.request_rate > 0 && !std::isinf(opts.request_rate)) o.request_rate = opts.request_rate / static_cast<double>(n);
    o.seed = opts.seed + 7919 * k;
    LoadRun run(shards_[k]->io, *shards_[k]->client, path, std::move(parts[k]), std::move(indices[k]), o, t0, shared,
                k == 0);
    out[k] = run.run();
  };
  std::vector<std::thread> threads;
  for (size_t k = 1; k < n; ++k) threads.emplace_back(run_shard, k);
  run_shard(0);
  for (auto& t : threads) t.join();

  result.cpu_s = process_cpu_s() - cpu0;
  for (const auto& s : shards_) result.connections_opened += s->client->connections_opened();
  result.connections_opened -= opened0;
  result.records.resize(shared.total);
  double first = std::numeric_limits<double>::infinity(), last = 0;
  for (auto& part : out) {
    for (auto& r : part) {
      first = std::min(first, r.start_s);
      last = std::max(last, r.end_s);
      const size_t i = r.index;
      result.records[i] = std::move(r);
    }
  }
  result.duration_s = last - first;
  return result;
}

}  // namespace dynamo::bench
