// Asio + Beast HTTP/1.1 client for streaming completions: one connection per in-flight request,
// idle keep-alive connections reused, SSE parsed incrementally with a timestamp per read.
// Everything runs on the thread that runs the io_context (one thread; no locking anywhere).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/bench/request_record.h"

namespace dynamo::bench {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  std::string port;
  std::string base_path;  // "" or "/prefix" (no trailing slash); a trailing "/v1" is dropped
  std::string url() const;
};

// "http://host[:port][/prefix]". Throws ConfigError naming --url for anything else (https included).
Endpoint parse_url(std::string_view url);

struct Connection;

class StreamClient {
 public:
  using Done = std::function<void(RequestRecord&&)>;

  // Resolves the host once (throws ConfigError when it cannot). timeout_s bounds each request from
  // send to the end of its stream.
  StreamClient(boost::asio::io_context& io, const Endpoint& ep, double timeout_s);
  ~StreamClient();

  // Times in records are seconds since this point.
  void set_epoch(Clock::time_point t0) { epoch_ = t0; }
  double now_s() const { return std::chrono::duration<double>(Clock::now() - epoch_).count(); }

  // POSTs body (JSON) to path (e.g. "/v1/completions") and reads the SSE stream. Sets rec.start_s;
  // calls done exactly once, on the io_context thread, with ok or error_kind filled. A request whose
  // completion_tokens differs from rec.expected_osl (when > 0) fails as wrong_length.
  void post_stream(const std::string& path, std::string body, RequestRecord rec, Done done);

  size_t connections_opened() const { return opened_; }
  const Endpoint& endpoint() const { return ep_; }
  size_t idle_connections() const { return idle_.size(); }

 private:
  friend class StreamCall;
  std::shared_ptr<Connection> acquire(bool& reused);
  void release(std::shared_ptr<Connection> c);

  boost::asio::io_context& io_;
  Endpoint ep_;
  std::string host_header_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  double timeout_s_;
  Clock::time_point epoch_ = Clock::now();
  std::vector<std::shared_ptr<Connection>> idle_;
  size_t opened_ = 0;
};

struct SimpleResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Blocking GET of a small resource (/v1/models, /metrics). Throws std::runtime_error on I/O errors.
SimpleResponse http_get(const Endpoint& ep, const std::string& path, double timeout_s);

}  // namespace dynamo::bench
