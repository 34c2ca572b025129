// The bench's HTTP/1.1 streaming client (see stream_client.h): connect, write, read the header,
// then read the body piece by piece, feeding each piece with its timestamp to the SSE parser.
#include "core/bench/stream_client.h"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/bench/openai_stream.h"
#include "core/bench/sse_parser.h"
#include "core/util/errors.h"

namespace dynamo::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A plain socket, not beast::tcp_stream: its per-operation timer costs microseconds on every read,
// which at a token per read is most of the client's time. One timer per request bounds it instead.
struct Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  beast::flat_buffer buffer;
  bool connected = false;
};

std::string Endpoint::url() const { return "http://" + host + ":" + port + base_path; }

Endpoint parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme)
    throw ConfigError("--url " + std::string(url) + ": expected http://HOST[:PORT][/PATH] (https is not supported)");
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) path.resize(path.size() - 3);
  Endpoint ep;
  ep.base_path = path;
  if (!hostport.empty() && hostport.front() == '[') {  // [ipv6]:port
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) throw ConfigError("--url: unterminated [IPv6] host");
    ep.host = std::string(hostport.substr(1, close - 1));
    hostport = hostport.substr(close + 1);
    ep.port = hostport.size() > 1 && hostport[0] == ':' ? std::string(hostport.substr(1)) : "80";
  } else {
    const size_t colon = hostport.rfind(':');
    ep.host = std::string(hostport.substr(0, colon));
    ep.port = colon == std::string_view::npos ? "80" : std::string(hostport.substr(colon + 1));
  }
  if (ep.host.empty()) throw ConfigError("--url " + std::string(url) + ": no host");
  if (ep.port.empty() || ep.port.find_first_not_of("0123456789") != std::string::npos)
    throw ConfigError("--url " + std::string(url) + ": bad port");
  return ep;
}

StreamClient::StreamClient(asio::io_context& io, const Endpoint& ep, double timeout_s)
    : io_(io), ep_(ep), timeout_s_(timeout_s) {
  host_header_ = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]:" + ep.port : ep.host + ":" + ep.port;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  endpoints_ = resolver.resolve(ep.host, ep.port, ec);
  if (ec) throw ConfigError("--url: cannot resolve " + ep.host + ": " + ec.message());
}

StreamClient::~StreamClient() = default;

std::shared_ptr<Connection> StreamClient::acquire(bool& reused) {
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    reused = true;
    return c;
  }
  reused = false;
  return std::make_shared<Connection>(io_);
}

void StreamClient::release(std::shared_ptr<Connection> c) { idle_.push_back(std::move(c)); }

// One request from send to the end of its stream. Owned by the pending async operation's handler.
class StreamCall : public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(StreamClient& client, const std::string& path, std::string body, RequestRecord rec,
             StreamClient::Done done)
      : client_(client), rec_(std::move(rec)), done_(std::move(done)), timer_(client.io_) {
    req_.method(http::verb::post);
    req_.target(client.ep_.base_path + path);
    req_.version(11);
    req_.set(http::field::host, client.host_header_);
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::accept, "text/event-stream");
    req_.set(http::field::user_agent, "dynamo-serve-bench");
    req_.keep_alive(true);
    req_.body() = std::move(body);
    req_.prepare_payload();
  }

  void start() {
    rec_.start_s = client_.now_s();
    timer_.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(client_.timeout_s_)));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_timeout();
    });
    begin();
  }

 private:
  void begin() {
    conn_ = client_.acquire(rec_.reused_connection);
    if (conn_->connected) return write();
    ++client_.opened_;
    asio::async_connect(conn_->socket, client_.endpoints_,
                        [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                          self->on_connect(ec);
                        });
  }

  // The deadline passed: cancel whatever is pending; its handler sees timed_out_.
  void on_timeout() {
    if (completed_) return;
    timed_out_ = true;
    if (conn_) {
      beast::error_code ignored;
      conn_->socket.cancel(ignored);
    }
  }

  void on_connect(beast::error_code ec) {
    if (timed_out_) return fail("timeout", "connect not finished before --timeout");
    if (ec) return fail("connect", "connect: " + ec.message());
    conn_->connected = true;
    conn_->socket.set_option(tcp::no_delay(true), ec);
    write();
  }

  void write() {
    http::async_write(conn_->socket, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  // A reused keep-alive connection may have been closed by the server while idle: retry once.
  bool retry_stale(beast::error_code ec) {
    const bool stale = ec == http::error::end_of_stream || ec == asio::error::eof ||
                       ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
                       ec == asio::error::connection_aborted;
    if (!stale || !rec_.reused_connection || retried_ || timed_out_) return false;
    retried_ = true;
    close();
    begin();
    return true;
  }

  void on_write(beast::error_code ec) {
    if (ec && retry_stale(ec)) return;
    if (timed_out_) return fail("timeout", "request not sent before --timeout");
    if (ec) return fail("connect", "send: " + ec.message());
    parser_.emplace();
    parser_->body_limit(boost::none);
    http::async_read_header(conn_->socket, conn_->buffer, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec && retry_stale(ec)) return;
    if (timed_out_) return fail("timeout", "no response header before --timeout");
    if (ec) {
      const bool parse_error = ec.category() == http::make_error_code(http::error::bad_version).category() &&
                               ec != http::error::end_of_stream && ec != http::error::partial_message;
      return fail(parse_error ? "bad_stream" : "connect", "reading response header: " + ec.message());
    }
    rec_.http_status = static_cast<int>(parser_->get().result_int());
    if (rec_.http_status == 200) {
      const auto ct = parser_->get()[http::field::content_type];
      if (ct.find("text/event-stream") == std::string_view::npos)
        return fail("bad_stream", "200 response with Content-Type '" + std::string(ct) +
                                      "', not text/event-stream");
    }
    read_body();
  }

  void read_body() {
    auto& body = parser_->get().body();
    body.data = buf_;
    body.size = sizeof buf_;
    http::async_read_some(conn_->socket, conn_->buffer, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    const double now = client_.now_s();
    const size_t n = sizeof buf_ - parser_->get().body().size;
    if (n > 0 && !consume(std::string_view(buf_, n), now)) return;
    if (timed_out_) return fail("timeout", "stream not finished before --timeout");
    if (ec) {
      if (rec_.http_status != 200) return fail(status_kind(), status_detail());
      return fail("bad_stream", "connection lost mid-stream: " + ec.message());
    }
    if (!parser_->is_done()) return read_body();
    if (rec_.http_status != 200) {
      finish_connection(parser_->keep_alive());
      return complete(status_kind(), status_detail());
    }
    if (sse_.has_partial()) return fail("bad_stream", "stream ended inside an SSE event");
    if (!reader_.finish(rec_)) return fail("bad_stream", reader_.error());
    finish_connection(parser_->keep_alive());
    if (rec_.expected_osl > 0 && rec_.completion_tokens != rec_.expected_osl)
      return complete("wrong_length", "completion_tokens " + std::to_string(rec_.completion_tokens) +
                                          " != requested " + std::to_string(rec_.expected_osl));
    complete("", "");
  }

  // Feeds body bytes; returns false after failing the call.
  bool consume(std::string_view bytes, double now) {
    if (rec_.http_status != 200) {
      if (error_body_.size() < 2048) error_body_.append(bytes.substr(0, 2048 - error_body_.size()));
      return true;
    }
    events_.clear();
    if (!sse_.feed(bytes, events_)) {
      fail("bad_stream", "SSE line longer than the parser's limit");
      return false;
    }
    for (const SseEvent& e : events_) {
      if (!reader_.on_data(e.data, now, rec_)) {
        fail("bad_stream", reader_.error());
        return false;
      }
    }
    return true;
  }

  std::string status_kind() const { return "http_" + std::to_string(rec_.http_status); }
  std::string status_detail() const { return "HTTP " + std::to_string(rec_.http_status) + ": " + error_body_; }

  void close() {
    beast::error_code ignored;
    conn_->socket.shutdown(tcp::socket::shutdown_both, ignored);
    conn_->socket.close(ignored);
    conn_.reset();
  }

  void finish_connection(bool keep_alive) {
    if (keep_alive && conn_->buffer.size() == 0) {
      client_.release(std::move(conn_));
    } else {
      close();
    }
  }

  void fail(std::string kind, std::string detail) {
    if (conn_) close();
    complete(std::move(kind), std::move(detail));
  }

  void complete(std::string kind, std::string detail) {
    completed_ = true;
    timer_.cancel();
    rec_.end_s = client_.now_s();
    rec_.ok = kind.empty();
    rec_.error_kind = std::move(kind);
    rec_.error = std::move(detail);
    auto done = std::move(done_);
    done(std::move(rec_));
  }

  StreamClient& client_;
  RequestRecord rec_;
  StreamClient::Done done_;
  http::request<http::string_body> req_;
  std::shared_ptr<Connection> conn_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  asio::steady_timer timer_;
  SseParser sse_;
  OpenAiStreamReader reader_;
  std::vector<SseEvent> events_;
  std::string error_body_;
  bool retried_ = false;
  bool timed_out_ = false;
  bool completed_ = false;
  char buf_[4096];
};

void StreamClient::post_stream(const std::string& path, std::string body, RequestRecord rec, Done done) {
  std::make_shared<StreamCall>(*this, path, std::move(body), std::move(rec), std::move(done))->start();
}

SimpleResponse http_get(const Endpoint& ep, const std::string& path, double timeout_s) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  stream.expires_after(timeout);
  http::request<http::empty_body> req{http::verb::get, ep.base_path + path, 11};
  req.set(http::field::host, ep.host + ":" + ep.port);
  req.set(http::field::user_agent, "dynamo-serve-bench");
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code result;
  auto fail = [&](beast::error_code ec) { result = ec; };
  stream.async_connect(resolver.resolve(ep.host, ep.port), [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(ec);
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      if (ec) return fail(ec);
      http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) { fail(ec); });
    });
  });
  io.run();
  if (result)
    throw std::runtime_error("GET " + ep.url() + path + ": " + result.message());
  SimpleResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

}  // namespace dynamo::bench
