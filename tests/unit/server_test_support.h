// Test helpers for the HTTP layer: a whitespace tokenizer (words get ids on first sight) and a
// blocking HTTP/1.1 client over Beast.
#pragma once
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/tokenizer/tokenizer.h"

namespace dynamo::test {

// "a b c" -> three tokens; decode gives each word followed by one space. Id 0 is "<s>" (BOS,
// special), id 1 "</s>" (EOS, special). Thread-safe.
class WhitespaceTokenizer : public Tokenizer {
 public:
  WhitespaceTokenizer() {
    id_of("<s>");
    id_of("</s>");
  }
  std::vector<int32_t> encode(std::string_view text, bool add_special = true) const override {
    std::vector<int32_t> ids;
    if (add_special) ids.push_back(0);
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && text[i] == ' ') ++i;
      size_t j = i;
      while (j < text.size() && text[j] != ' ') ++j;
      if (j > i) ids.push_back(id_of(text.substr(i, j - i)));
      i = j;
    }
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override {
    std::string out;
    for (int32_t id : ids) {
      if (skip_special && is_special(id)) continue;
      out += token_to_piece(id);
    }
    return out;
  }
  std::string token_to_piece(int32_t id) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return id >= 0 && static_cast<size_t>(id) < words_.size() ? words_[static_cast<size_t>(id)] + " " : "";
  }
  int64_t vocab_size() const override { return 32000; }
  bool is_special(int32_t id) const override { return id == 0 || id == 1; }
  std::optional<int32_t> token_to_id(std::string_view token) const override { return id_of(token); }
  std::optional<int32_t> bos_id() const override { return 0; }
  std::vector<int32_t> eos_ids() const override { return {1}; }
  std::string bos_token() const override { return "<s>"; }
  std::string eos_token() const override { return "</s>"; }
  std::string chat_template() const override { return ""; }

 private:
  int32_t id_of(std::string_view w) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = ids_.find(std::string(w));
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<int32_t>(words_.size());
    words_.emplace_back(w);
    ids_.emplace(std::string(w), id);
    return id;
  }
  mutable std::mutex mutex_;
  mutable std::vector<std::string> words_;
  mutable std::map<std::string, int32_t> ids_;
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;
  std::string allow;
  std::string content_length;
};

// One open connection to the server for several requests in a row (keep-alive tests).
struct KeepAliveConnection {
  explicit KeepAliveConnection(uint16_t port) {
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream{ioc};
  boost::beast::flat_buffer buf;  // bytes read past the last response
};

// One request on a fresh connection (for HEAD the reply's body is whatever follows the headers
// before the server closes, which must be nothing).
inline HttpReply http_request(uint16_t port, const std::string& method, const std::string& target,
                              const std::string& body = {}) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  if (req.method() == http::verb::head) req.keep_alive(false);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  const bool head = req.method() == http::verb::head;
  parser.skip(head);  // a HEAD response has Content-Length but no body
  http::read(stream, buf, parser);
  auto& res = parser.get();
  HttpReply r;
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  r.content_type = std::string(res[http::field::content_type]);
  r.retry_after = std::string(res[http::field::retry_after]);
  r.allow = std::string(res[http::field::allow]);
  r.content_length = std::string(res[http::field::content_length]);
  if (head) {  // anything the server sent after the headers, until it closes (Connection: close)
    r.body.assign(static_cast<const char*>(buf.data().data()), buf.size());
    stream.expires_after(std::chrono::seconds(5));
    std::array<char, 4096> rest{};
    beast::error_code ec;
    while (!ec) r.body.append(rest.data(), stream.read_some(boost::asio::buffer(rest), ec));
  }
  beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return r;
}

}  // namespace dynamo::test
