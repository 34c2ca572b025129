// One HTTP/1.1 connection: read a request (header and body limits, timeouts), route it, answer
// it (whole, or SSE over chunked encoding), then wait for the next one (keep-alive). Everything
// runs on the connection's strand. A client that goes away mid-request cancels its engine work.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/server/completion_job.h"
#include "core/server/routes.h"
#include "core/server/server_context.h"

namespace dynamo::server {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, ServerContext& ctx);
  void start();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  void do_read_header();
  void on_read_header(boost::beast::error_code ec);
  void do_read_body();
  void on_read_body(boost::beast::error_code ec);
  void fail_read(boost::beast::error_code ec);
  void handle_request();
  void start_completion(Route route);

  void send(SimpleResponse r, bool close = false);
  void on_response_written(boost::beast::error_code ec, bool close);
  void finish_request(bool close);

  void on_job_ready();
  void queue_sse(const std::string& data);
  void write_pending();
  void on_stream_written(boost::beast::error_code ec);

  void watch_disconnect();
  void stop_watching();
  void close();
  void linger_close();  // after a response that ends the connection
  void discard_input();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Request request_;
  ServerContext& ctx_;
  bool keep_alive_ = true;
  bool head_ = false;     // the request is HEAD: answer headers only
  bool counted_ = false;  // this request is counted in ctx_.active_responses

  std::shared_ptr<CompletionJob> job_;
  bool streaming_ = false;
  bool writing_ = false;
  bool stream_ended_ = false;  // the terminating chunk is queued
  std::string pending_;        // chunk-framed bytes waiting for the current write to finish
  std::string in_flight_;      // bytes being written
  uint64_t watch_generation_ = 0;
  bool watching_ = false;
  bool closed_ = false;
  std::array<char, 4096> discard_{};
};

}  // namespace dynamo::server
