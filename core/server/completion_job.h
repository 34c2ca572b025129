// One OpenAI completion request in flight: its engine requests (prompts x n choices), their
// detokenizers and stop matchers, and the text, SSE chunks and final JSON built from their tokens.
// Created and used on one connection's strand only; engine threads touch it only through the
// RequestStream notifier, which coalesces wake-ups into one post to the strand.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/engine/request.h"
#include "core/server/api_error.h"
#include "core/server/openai_request.h"
#include "core/server/openai_response.h"
#include "core/server/prompt_builder.h"
#include "core/server/server_context.h"
#include "core/server/stop_matcher.h"

namespace dynamo::server {

class CompletionJob : public std::enable_shared_from_this<CompletionJob> {
 public:
  // Tokenizes, admits (or refuses with 429/503), submits every choice to the engine. on_ready is
  // invoked on `strand` whenever a stream has something new; the caller then calls poll().
  static std::variant<std::shared_ptr<CompletionJob>, ApiError> start(ServerContext& ctx, OpenAIRequest request,
                                                                      boost::asio::any_io_executor strand,
                                                                      std::function<void()> on_ready);
  ~CompletionJob();  // cancels whatever is still running in the engine

  void poll();  // drains the streams; appends SSE bytes when streaming
  bool finished() const { return remaining_ == 0; }
  bool streaming() const { return request_.stream; }
  std::string take_sse();  // SSE bytes produced so far (ends with [DONE] once finished)
  // Non-streaming, once finished(): the status and body to send.
  std::pair<int, std::string> final_response() const;
  void abandon();  // the client went away: cancel everything, count one disconnect

  struct Choice;  // per engine request; defined in the .cpp

 private:
  struct Waker;
  CompletionJob(ServerContext& ctx, OpenAIRequest request, std::vector<PreparedPrompt> prompts);
  void submit_all(boost::asio::any_io_executor strand, std::function<void()> on_ready);
  void advance(Choice& c, std::vector<TokenOutput>& tokens);
  void finish_choice(Choice& c, FinishReason reason, const std::string& finish_name);
  void emit_chunk(Choice& c, std::string text, std::vector<LogprobEntry> lps, bool finished);
  LogprobEntry to_logprob_entry(const TokenOutput& t) const;
  std::string token_text(int32_t id) const;
  ApiError shutdown_error() const;
  Usage usage() const;

  ServerContext& ctx_;
  OpenAIRequest request_;
  std::vector<PreparedPrompt> prompts_;
  std::vector<std::unique_ptr<Choice>> choices_;
  std::shared_ptr<Waker> waker_;
  ResponseHeader header_;
  std::string sse_;
  size_t remaining_ = 0;
  bool error_sent_ = false;
  std::vector<TokenOutput> scratch_;
};

}  // namespace dynamo::server
