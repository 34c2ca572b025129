// The HTTP server: an Asio io_context run by --http-threads threads, a listener accepting
// connections into HttpSessions, and graceful shutdown on SIGINT/SIGTERM (stop accepting, let
// in-flight requests finish within the shutdown timeout, then cancel them and return).
#pragma once
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/server/server_context.h"

namespace dynamo::server {

class HttpServer {
 public:
  // Binds host:port at once (throws ConfigError naming them when it cannot).
  explicit HttpServer(ServerContext& ctx, bool handle_signals = true);
  ~HttpServer();

  uint16_t port() const { return port_; }  // the bound port (useful with port 0)
  // Serves until shutdown; returns after in-flight requests finished or were cancelled.
  void run();
  // Thread-safe: begins the graceful shutdown (what SIGINT/SIGTERM do).
  void shutdown();
  // True when the shutdown deadline passed and the server called Engine::shutdown() itself.
  bool engine_was_shut_down() const { return engine_shut_down_.load(); }

 private:
  void do_accept();
  void begin_shutdown();
  void check_drained();

  ServerContext& ctx_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  std::chrono::steady_clock::time_point deadline_;
  uint16_t port_ = 0;
  bool shutting_down_ = false;  // io thread only
  std::atomic<bool> engine_shut_down_{false};
  std::chrono::steady_clock::time_point cancel_deadline_;
};

}  // namespace dynamo::server
