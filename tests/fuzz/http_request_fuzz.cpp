// Fuzzes the HTTP read path as HttpSession runs it: Beast's request parser with the server's header
// and body limits, fed in pieces (the first input byte sets the piece size), keep-alive requests parsed
// one after another from one buffer, then routed. Invariant: an accepted request respects both limits.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include <boost/beast/http.hpp>

#include "core/server/routes.h"
#include "core/server/server_context.h"
#include "tests/fuzz/fuzz_check.h"

namespace http = boost::beast::http;
using namespace dynamo::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ServerOptions options;
  options.max_body_bytes = 4096;  // small enough for the fuzzer to cross; the same code path
  options.max_header_bytes = 1024;
  const size_t piece = 1 + data[0] % 64;  // bytes per simulated socket read
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t received = 0;  // bytes the "socket" has delivered into the session's buffer
  size_t consumed = 0;  // bytes the parsers have taken from it
  for (int requests = 0; requests < 8 && consumed < input.size(); ++requests) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(options.max_header_bytes);
    parser.body_limit(options.max_body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      if (consumed == received) {
        if (received == input.size()) break;  // end of stream mid-request
        received = std::min(input.size(), received + piece);
      }
      consumed += parser.put(boost::asio::buffer(input.data() + consumed, received - consumed), ec);
      if (ec == http::error::need_more) {
        ec = {};
        if (received == input.size()) break;
        received = std::min(input.size(), received + piece);
        continue;
      }
      if (ec) break;
    }
    if (ec || !parser.is_done()) break;  // the session answers 400/413/431 and closes
    const auto& req = parser.get();
    FUZZ_CHECK(req.body().size() <= options.max_body_bytes);
    const RouteMatch m = match_route(req.method_string(), req.target());
    if (m.route != Route::NotFound) FUZZ_CHECK(!m.allow.empty());
    (void)req[http::field::expect];
    if (!req.keep_alive()) break;
  }
  return 0;
}
