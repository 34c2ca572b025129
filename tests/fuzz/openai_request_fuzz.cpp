// Fuzzes the OpenAI request parsers (JSON body -> validated native request) with the server's default
// limits. The first input byte picks the endpoint. Invariant: a parsed request respects every limit it
// was given (counts, lengths, token id ranges); anything else must come back as an ApiError, not a throw.
#include <cstdint>
#include <string_view>
#include <variant>

#include "core/server/openai_request.h"
#include "tests/fuzz/fuzz_check.h"

using namespace dynamo::server;

namespace {

void check_ids(const std::vector<int32_t>& ids, const RequestLimits& limits) {
  for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < limits.vocab_size);
}

void check_request(const OpenAIRequest& r, const RequestLimits& limits) {
  FUZZ_CHECK(r.n >= 1 && r.n <= limits.max_n);
  FUZZ_CHECK(r.stop.size() <= static_cast<size_t>(limits.max_stop));
  for (const auto& s : r.stop) {  // max_stop_len counts code points (JSON Schema's maxLength), at most 4 bytes each
    size_t chars = 0;
    for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
    FUZZ_CHECK(chars <= static_cast<size_t>(limits.max_stop_len) && s.size() <= 4u * limits.max_stop_len);
  }
  FUZZ_CHECK(r.stop_token_ids.size() <= static_cast<size_t>(limits.max_stop_token_ids));
  check_ids(r.stop_token_ids, limits);
  FUZZ_CHECK(r.prompt_texts.size() + r.prompt_ids.size() <= static_cast<size_t>(limits.max_prompts));
  for (const auto& p : r.prompt_ids) check_ids(p, limits);
  FUZZ_CHECK(!r.max_tokens || *r.max_tokens >= 0);
  FUZZ_CHECK(r.logprobs <= limits.max_logprobs);
  if (r.kind == ApiKind::Completion) FUZZ_CHECK(r.prompt_texts.empty() || r.prompt_ids.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  RequestLimits limits;
  limits.vocab_size = 49152;  // the default model's
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      ParseResult res = parse_chat_request(body, limits);
      if (auto* r = std::get_if<OpenAIRequest>(&res)) check_request(*r, limits);
      break;
    }
    case 1: {
      ParseResult res = parse_completion_request(body, limits);
      if (auto* r = std::get_if<OpenAIRequest>(&res)) check_request(*r, limits);
      break;
    }
    case 2: (void)parse_tokenize_request(body, limits); break;
    case 3: {
      auto res = parse_detokenize_request(body, limits);
      if (auto* r = std::get_if<DetokenizeRequest>(&res)) check_ids(r->tokens, limits);
      break;
    }
  }
  return 0;
}
