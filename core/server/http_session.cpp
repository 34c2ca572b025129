// HttpSession: the read -> route -> respond loop of one connection, SSE streaming with coalesced
// writes, and disconnect detection while a request is being generated.
#include "core/server/http_session.h"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>

namespace dynamo::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

const char* reason_phrase(int status) {
  return http::obsolete_reason(static_cast<http::status>(status)).data();
}

void append_chunk(std::string& out, std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<size_t>(n)).append(data).append("\r\n");
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, ServerContext& ctx) : stream_(std::move(socket)), ctx_(ctx) {}

void HttpSession::start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read_header(); });
}

void HttpSession::do_read_header() {
  parser_.emplace();
  parser_->header_limit(ctx_.options.max_header_bytes);
  parser_->body_limit(ctx_.options.max_body_bytes);
  stream_.expires_after(ctx_.options.idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read_header(ec); });
}

void HttpSession::on_read_header(beast::error_code ec) {
  if (ec) return fail_read(ec);
  auto& req = parser_->get();
  if (req[http::field::expect] == "100-continue" && !parser_->is_done()) {
    // curl waits a second for this before sending a large body.
    auto msg = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
    stream_.expires_after(ctx_.options.read_timeout);
    net::async_write(stream_, net::buffer(*msg), [self = shared_from_this(), msg](beast::error_code wec, size_t) {
      if (wec) return self->close();
      self->do_read_body();
    });
    return;
  }
  do_read_body();
}

void HttpSession::do_read_body() {
  stream_.expires_after(ctx_.options.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read_body(ec); });
}

void HttpSession::on_read_body(beast::error_code ec) {
  if (ec) return fail_read(ec);
  request_ = parser_->release();
  handle_request();
}

void HttpSession::fail_read(beast::error_code ec) {
  // A clean end between requests, a timeout, or a reset: just close.
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    return close();
  }
  keep_alive_ = false;
  if (ec == http::error::body_limit) {
    ctx_.metrics.record_rejection(metrics::Rejection::BodyTooLarge);
    return send(error_response({413, "request body larger than " + std::to_string(ctx_.options.max_body_bytes) +
                                         " bytes", "BadRequestError", "", "", 0}), true);
  }
  if (ec == http::error::header_limit) {
    return send(error_response({431, "request headers too large", "BadRequestError", "", "", 0}), true);
  }
  send(error_response(ApiError::bad_request("malformed HTTP request: " + ec.message())), true);
}

void HttpSession::handle_request() {
  keep_alive_ = request_.keep_alive();
  head_ = request_.method() == http::verb::head;
  ctx_.active_responses.fetch_add(1, std::memory_order_acq_rel);
  counted_ = true;
  const RouteMatch m = match_route(request_.method_string(), request_.target());
  if (m.route == Route::NotFound) {
    return send(error_response({404, "no route for " + std::string(request_.target()), "NotFoundError", "", "", 0}));
  }
  if (!m.method_allowed) {
    auto r = error_response({405, "method " + std::string(request_.method_string()) + " not allowed; use " +
                                      std::string(m.allow), "MethodNotAllowedError", "", "", 0});
    r.allow = std::string(m.allow);
    return send(std::move(r));
  }
  if (ctx_.draining.load(std::memory_order_acquire) && m.route != Route::Health && m.route != Route::Metrics) {
    ctx_.metrics.record_rejection(metrics::Rejection::ShuttingDown);
    return send(error_response({503, "the server is shutting down", "ServiceUnavailableError", "", "", 1}), true);
  }
  if (m.route == Route::ChatCompletions || m.route == Route::Completions) return start_completion(m.route);
  send(handle_simple(ctx_, m.route, request_.body()));
}

void HttpSession::start_completion(Route route) {
  auto parsed = route == Route::ChatCompletions ? parse_chat_request(request_.body(), ctx_.options.limits)
                                                : parse_completion_request(request_.body(), ctx_.options.limits);
  if (auto* err = std::get_if<ApiError>(&parsed)) {
    ctx_.metrics.record_rejection(metrics::Rejection::BadRequest);
    return send(error_response(*err));
  }
  auto& req = std::get<OpenAIRequest>(parsed);
  if (auto err = check_model_name(ctx_, req.model)) return send(error_response(*err));
  if (!ctx_.engine.can_serve()) {  // some workers may be down: the engine routes around them
    ctx_.metrics.record_rejection(metrics::Rejection::Unhealthy);
    return send(error_response({503, "no healthy worker is left to serve the request (" +
                                         describe_down_workers(ctx_.engine.stats()) + ")",
                                "ServiceUnavailableError", "", "", 0}));
  }
  std::weak_ptr<HttpSession> weak = weak_from_this();
  auto started = CompletionJob::start(ctx_, std::move(req), stream_.get_executor(), [weak] {
    if (auto self = weak.lock()) self->on_job_ready();
  });
  if (auto* err = std::get_if<ApiError>(&started)) return send(error_response(*err));
  job_ = std::move(std::get<std::shared_ptr<CompletionJob>>(started));
  request_ = {};  // the body can be large; the job has what it needs
  stream_.expires_never();  // generation may take long; each write sets its own deadline
  streaming_ = job_->streaming();
  stream_ended_ = false;
  if (streaming_) {
    ctx_.metrics.record_http(200);
    pending_ =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\n";
    pending_ += keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    queue_sse(job_->take_sse());
    write_pending();
  }
  watch_disconnect();
  on_job_ready();  // the engine may already have answered (e.g. an invalid request)
}

void HttpSession::on_job_ready() {
  if (!job_ || closed_) return;
  job_->poll();
  if (streaming_) {
    queue_sse(job_->take_sse());
    if (job_->finished() && !stream_ended_) {
      pending_ += "0\r\n\r\n";
      stream_ended_ = true;
    }
    write_pending();
    return;
  }
  if (!job_->finished()) return;
  stop_watching();
  auto [status, body] = job_->final_response();
  job_.reset();
  send({status, "application/json", std::move(body), 0, {}});
}

void HttpSession::queue_sse(const std::string& data) {
  if (!data.empty()) append_chunk(pending_, data);
}

void HttpSession::write_pending() {
  if (writing_ || pending_.empty() || closed_) return;
  in_flight_.swap(pending_);
  pending_.clear();
  writing_ = true;
  stream_.expires_after(ctx_.options.read_timeout);
  net::async_write(stream_, net::buffer(in_flight_),
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->on_stream_written(ec); });
}

void HttpSession::on_stream_written(beast::error_code ec) {
  writing_ = false;
  in_flight_.clear();
  if (ec) {
    if (job_) job_->abandon();
    job_.reset();
    return close();
  }
  if (!pending_.empty()) return write_pending();
  if (stream_ended_) {
    stop_watching();
    job_.reset();
    finish_request(!keep_alive_);
  }
}

void HttpSession::send(SimpleResponse r, bool close_after) {
  if (close_after || ctx_.draining.load(std::memory_order_acquire)) keep_alive_ = false;
  ctx_.metrics.record_http(r.status);
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
  res->set(http::field::server, "dynamo-serve");
  res->set(http::field::content_type, r.content_type);
  if (r.retry_after_s > 0) res->set(http::field::retry_after, std::to_string(r.retry_after_s));
  if (!r.allow.empty()) res->set(http::field::allow, r.allow);
  res->keep_alive(keep_alive_);
  res->body() = std::move(r.body);
  res->prepare_payload();
  if (head_) res->body().clear();  // RFC 9110 9.3.2: GET's headers (Content-Length included), no content
  (void)reason_phrase;
  stream_.expires_after(ctx_.options.read_timeout);
  const bool close_now = !keep_alive_;
  http::async_write(stream_, *res, [self = shared_from_this(), res, close_now](beast::error_code ec, size_t) {
    self->on_response_written(ec, close_now);
  });
}

void HttpSession::on_response_written(beast::error_code ec, bool close_after) {
  if (ec) {
    if (counted_) ctx_.active_responses.fetch_sub(1, std::memory_order_acq_rel);
    counted_ = false;
    return close();
  }
  finish_request(close_after);
}

void HttpSession::finish_request(bool close_after) {
  if (counted_) ctx_.active_responses.fetch_sub(1, std::memory_order_acq_rel);
  counted_ = false;
  streaming_ = false;
  if (close_after || ctx_.draining.load(std::memory_order_acquire)) return linger_close();
  do_read_header();
}

void HttpSession::linger_close() {
  // Half-close and discard what the client still sends (e.g. the rest of a refused body), so the
  // response is not lost to a reset; give up after a second.
  if (closed_) return;
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (ec) return close();
  stream_.expires_after(std::chrono::seconds(1));
  discard_input();
}

void HttpSession::discard_input() {
  stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->close();
    self->discard_input();
  });
}

void HttpSession::watch_disconnect() {
  watching_ = true;
  const uint64_t gen = ++watch_generation_;
  stream_.socket().async_wait(net::ip::tcp::socket::wait_read,
                              net::bind_executor(stream_.get_executor(),
                                                 [self = shared_from_this(), gen](beast::error_code ec) {
                                                   if (gen != self->watch_generation_ || !self->watching_) return;
                                                   self->watching_ = false;
                                                   if (ec == net::error::operation_aborted) return;
                                                   if (!ec) {
                                                     // Readable: a pipelined request, the peer's close, or
                                                     // a spurious wake-up (seen under load: no data, peer
                                                     // alive). Only a peek that reads 0 bytes is a close.
                                                     char byte;
                                                     const ssize_t n =
                                                         ::recv(self->stream_.socket().native_handle(), &byte, 1,
                                                                MSG_PEEK | MSG_DONTWAIT);
                                                     if (n > 0) return;  // a pipelined request
                                                     if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                                                                   errno == EINTR))
                                                       return self->watch_disconnect();  // wait again
                                                   }
                                                   if (self->job_) self->job_->abandon();
                                                   self->job_.reset();
                                                   self->close();
                                                 }));
}

void HttpSession::stop_watching() {
  if (!watching_) return;
  watching_ = false;
  ++watch_generation_;
  // Cancels only the wait: no read is pending now, and a write finishing later is unaffected by
  // a cancel issued after it completed. Writes in flight are not cancelled because we only call
  // this when none is (after the last write, or before a whole response).
  if (!writing_) {
    beast::error_code ec;
    stream_.socket().cancel(ec);
  }
}

void HttpSession::close() {
  if (closed_) return;
  closed_ = true;
  if (job_) job_->abandon();
  job_.reset();
  if (counted_) ctx_.active_responses.fetch_sub(1, std::memory_order_acq_rel);
  counted_ = false;
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

}  // namespace dynamo::server
