// HttpServer: accept loop, worker threads, signal-driven graceful shutdown.
#include "core/server/http_server.h"

#include <csignal>
#include <cstdio>

#include <boost/asio/strand.hpp>

#include "core/server/http_session.h"
#include "core/util/errors.h"

namespace dynamo::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpServer::HttpServer(ServerContext& ctx, bool handle_signals)
    : ctx_(ctx), ioc_(std::max(1, ctx.options.http_threads)), acceptor_(ioc_), signals_(ioc_), drain_timer_(ioc_) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(ctx_.options.host, ec);
  if (ec) throw ConfigError("--host: '" + ctx_.options.host + "' is not an IP address (" + ec.message() + ")");
  const tcp::endpoint endpoint(address, ctx_.options.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw ConfigError("cannot listen on " + ctx_.options.host + ":" + std::to_string(ctx_.options.port) + ": " +
                      ec.message() + " (choose another --port or --host)");
  }
  port_ = acceptor_.local_endpoint().port();
  if (handle_signals) {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](boost::system::error_code sec, int) {
      if (!sec) begin_shutdown();
    });
  }
}

HttpServer::~HttpServer() = default;

void HttpServer::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      std::fprintf(stderr, "dynamo-serve: accept failed: %s\n", ec.message().c_str());
    } else {
      boost::system::error_code nec;
      socket.set_option(tcp::no_delay(true), nec);  // SSE chunks are small and latency-bound
      std::make_shared<HttpSession>(std::move(socket), ctx_)->start();
    }
    do_accept();
  });
}

void HttpServer::run() {
  do_accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < ctx_.options.http_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads) t.join();
}

void HttpServer::shutdown() {
  net::post(ioc_, [this] { begin_shutdown(); });
}

void HttpServer::begin_shutdown() {
  if (shutting_down_) {
    // A second signal: stop at once.
    std::fprintf(stderr, "dynamo-serve: second signal, stopping now\n");
    ioc_.stop();
    return;
  }
  shutting_down_ = true;
  std::fprintf(stderr, "dynamo-serve: shutting down (waiting up to %lld ms for %lld request(s))\n",
               static_cast<long long>(ctx_.options.shutdown_timeout.count()),
               static_cast<long long>(ctx_.active_responses.load()));
  ctx_.draining.store(true, std::memory_order_release);
  boost::system::error_code ec;
  acceptor_.close(ec);
  // Keep listening for a second signal.
  signals_.async_wait([this](boost::system::error_code sec, int) {
    if (!sec) begin_shutdown();
  });
  deadline_ = std::chrono::steady_clock::now() + ctx_.options.shutdown_timeout;
  check_drained();
}

void HttpServer::check_drained() {
  const auto now = std::chrono::steady_clock::now();
  const bool idle = ctx_.active_responses.load(std::memory_order_acquire) == 0;
  if (idle || (engine_shut_down_ && now >= cancel_deadline_)) {
    signals_.cancel();
    ioc_.stop();
    return;
  }
  if (now >= deadline_ && !engine_shut_down_) {
    // Time is up: cancel what is still generating; the sessions then send what they have.
    std::fprintf(stderr, "dynamo-serve: shutdown timeout, cancelling %lld request(s)\n",
                 static_cast<long long>(ctx_.active_responses.load()));
    engine_shut_down_ = true;
    ctx_.engine.shutdown();
    cancel_deadline_ = now + std::chrono::seconds(2);
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) check_drained();
  });
}

}  // namespace dynamo::server
