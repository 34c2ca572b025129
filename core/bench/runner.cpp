// Closed- and open-loop load generation on one io_context (see runner.h).
#include "core/bench/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>

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

class LoadRun {
 public:
  LoadRun(boost::asio::io_context& io, StreamClient& client, const std::string& path,
          std::vector<PreparedRequest> reqs, const LoadOptions& opts)
      : io_(io), client_(client), path_(path), reqs_(std::move(reqs)), opts_(opts),
        arrival_timer_(io), progress_timer_(io), records_(reqs_.size()) {
    if (opts_.progress) bar_.emplace(opts_.label, reqs_.size());
  }

  RunResult run() {
    RunResult result;
    if (reqs_.empty()) return result;
    const double cpu0 = process_cpu_s();
    const size_t opened0 = client_.connections_opened();
    t0_ = Clock::now();
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
    if (bar_) bar_->finish(finished_, failed_, client_.now_s());
    result.cpu_s = process_cpu_s() - cpu0;
    result.connections_opened = client_.connections_opened() - opened0;
    double first = std::numeric_limits<double>::infinity(), last = 0;
    for (const auto& r : records_) {
      first = std::min(first, r.start_s);
      last = std::max(last, r.end_s);
    }
    result.duration_s = last - first;
    result.records = std::move(records_);
    return result;
  }

 private:
  bool open_loop() const { return opts_.request_rate > 0; }

  void launch(size_t i, double scheduled_s) {
    ++in_flight_;
    RequestRecord rec;
    rec.index = i;
    rec.scheduled_s = scheduled_s;
    rec.expected_isl = reqs_[i].expected_isl;
    rec.expected_osl = reqs_[i].expected_osl;
    client_.post_stream(path_, std::move(reqs_[i].body), std::move(rec),
                        [this](RequestRecord&& r) { on_done(std::move(r)); });
  }

  void on_done(RequestRecord&& r) {
    --in_flight_;
    ++finished_;
    if (!r.ok) ++failed_;
    records_[r.index] = std::move(r);
    if (open_loop()) {
      drain_ready();
    } else if (next_ < reqs_.size()) {
      launch(next_++, client_.now_s());
    }
    if (finished_ == reqs_.size()) {
      arrival_timer_.cancel();
      progress_timer_.cancel();
    }
  }

  // Moves every request whose arrival time has come to the ready queue, then waits for the next.
  void on_arrival() {
    const double now = client_.now_s();
    while (next_ < reqs_.size() && arrivals_[next_] <= now) {
      ready_.push_back(next_);
      ++next_;
    }
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
    bar_->draw(finished_, failed_, in_flight_, client_.now_s());
    progress_timer_.expires_after(std::chrono::milliseconds(200));
    progress_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && finished_ < reqs_.size()) tick();
    });
  }

  boost::asio::io_context& io_;
  StreamClient& client_;
  std::string path_;
  std::vector<PreparedRequest> reqs_;
  LoadOptions opts_;
  boost::asio::steady_timer arrival_timer_, progress_timer_;
  std::vector<RequestRecord> records_;
  std::vector<double> arrivals_;
  std::deque<size_t> ready_;
  std::optional<ProgressBar> bar_;
  Clock::time_point t0_;
  size_t next_ = 0, in_flight_ = 0, finished_ = 0, failed_ = 0;
};

}  // namespace

RunResult run_load(boost::asio::io_context& io, StreamClient& client, const std::string& path,
                   std::vector<PreparedRequest> requests, const LoadOptions& opts) {
  LoadRun run(io, client, path, std::move(requests), opts);
  return run.run();
}

}  // namespace dynamo::bench
