// CompletionJob: admission, submission, per-token detokenize + stop matching, metrics per choice,
// and the streamed or whole OpenAI response.
#include "core/server/completion_job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include <boost/asio/post.hpp>

#include "core/server/json_writer.h"

namespace dynamo::server {

struct CompletionJob::Waker {
  std::atomic<bool> pending{false};
  boost::asio::any_io_executor strand;
  std::weak_ptr<CompletionJob> job;
  std::function<void()> on_ready;

  // Engine thread: one post serves every token pushed until the strand runs it.
  void notify(const std::shared_ptr<Waker>& self) {
    if (pending.exchange(true, std::memory_order_acq_rel)) return;
    boost::asio::post(strand, [self] {
      self->pending.store(false, std::memory_order_release);
      if (self->job.lock()) self->on_ready();
    });
  }
};

struct CompletionJob::Choice {
  int32_t index = 0;
  size_t prompt = 0;
  std::shared_ptr<RequestStream> stream;
  std::unique_ptr<StreamingDetokenizer> detok;
  std::unique_ptr<StopMatcher> stop;
  std::string text;  // non-streaming: the whole output
  std::vector<LogprobEntry> logprobs;
  int64_t text_len = 0;  // bytes emitted so far (completions logprob offsets)
  int64_t tokens = 0;
  int64_t arrival_ns = 0;
  int64_t first_token_ns = 0;
  int64_t last_token_ns = 0;
  bool done = false;
  bool role_sent = false;
  FinishReason reason = FinishReason::None;
  std::string finish_name;
  std::string stop_reason;
  std::optional<ApiError> failure;  // the engine ended it with an error (or cancelled it at shutdown)
};

namespace {

uint64_t random_seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::string make_id(ServerContext& ctx, ApiKind kind) {
  const uint64_t n = ctx.next_request.fetch_add(1, std::memory_order_relaxed);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%016llx%08llx", kind == ApiKind::Chat ? "chatcmpl" : "cmpl",
                static_cast<unsigned long long>(random_seed()), static_cast<unsigned long long>(n & 0xffffffffu));
  return buf;
}

// vLLM answers a dead engine with 500 (non-streaming) and an error event before [DONE] (streaming);
// requests that cannot be served as asked stay 400, and "no worker can take it now" is 503.
ApiError engine_error(const RequestStream& s) {
  std::string message = s.error();
  if (message.empty()) message = "the engine failed this request";
  switch (s.error_kind()) {
    case ErrorKind::InvalidRequest: return {400, std::move(message), "BadRequestError", "", "", 0};
    case ErrorKind::Unavailable: return {503, std::move(message), "ServiceUnavailableError", "", "", 0};
    case ErrorKind::Internal: break;
  }
  return {500, std::move(message), "InternalServerError", "", "", 0};
}

}  // namespace

ApiError CompletionJob::shutdown_error() const {
  const std::string why = ctx_.draining.load(std::memory_order_acquire)
                              ? "the server is shutting down and --shutdown-timeout passed"
                              : "the engine stopped";
  return {503, "the request was cancelled before it finished: " + why, "ServiceUnavailableError", "", "", 0};
}

std::variant<std::shared_ptr<CompletionJob>, ApiError> CompletionJob::start(ServerContext& ctx, OpenAIRequest request,
                                                                            boost::asio::any_io_executor strand,
                                                                            std::function<void()> on_ready) {
  if (ctx.draining.load(std::memory_order_acquire)) {
    ctx.metrics.record_rejection(metrics::Rejection::ShuttingDown);
    return ApiError{503, "the server is shutting down", "ServiceUnavailableError", "", "", ctx.options.retry_after_s};
  }
  auto prompts = prepare_prompts(ctx, request);
  if (auto* err = std::get_if<ApiError>(&prompts)) {
    ctx.metrics.record_rejection(metrics::Rejection::BadRequest);
    return *err;
  }
  auto& list = std::get<std::vector<PreparedPrompt>>(prompts);
  const auto total = static_cast<int64_t>(list.size()) * request.n;
  if (!ctx.try_admit(total)) {
    ctx.metrics.record_rejection(metrics::Rejection::QueueFull);
    const int status = ctx.options.overload_status;
    return ApiError{status,
                    "too many requests in flight (limit " + std::to_string(ctx.options.max_queued_requests) +
                        "); retry later",
                    status == 429 ? "RateLimitError" : "ServiceUnavailableError", "", "", ctx.options.retry_after_s};
  }
  std::shared_ptr<CompletionJob> job(new CompletionJob(ctx, std::move(request), std::move(list)));
  job->submit_all(std::move(strand), std::move(on_ready));
  return job;
}

CompletionJob::CompletionJob(ServerContext& ctx, OpenAIRequest request, std::vector<PreparedPrompt> prompts)
    : ctx_(ctx), request_(std::move(request)), prompts_(std::move(prompts)) {
  header_.id = make_id(ctx_, request_.kind);
  header_.created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
  header_.model = request_.model.empty() ? ctx_.options.served_model_name : request_.model;
}

void CompletionJob::submit_all(boost::asio::any_io_executor strand, std::function<void()> on_ready) {
  waker_ = std::make_shared<Waker>();
  waker_->strand = std::move(strand);
  waker_->job = weak_from_this();
  waker_->on_ready = std::move(on_ready);
  const int64_t now = RequestStream::now_ns();
  const uint64_t base_seed = request_.seed.value_or(0);
  for (size_t p = 0; p < prompts_.size(); ++p) {
    for (int32_t i = 0; i < request_.n; ++i) {
      auto c = std::make_unique<Choice>();
      c->index = static_cast<int32_t>(p) * request_.n + i;
      c->prompt = p;
      c->arrival_ns = now;
      c->stream = std::make_shared<RequestStream>();
      const auto& ids = prompts_[p].ids;
      std::vector<int32_t> context(ids.end() - std::min<size_t>(ids.size(), 8), ids.end());
      c->detok = std::make_unique<StreamingDetokenizer>(ctx_.tokenizer, request_.skip_special_tokens, std::move(context));
      c->stop = std::make_unique<StopMatcher>(request_.stop, request_.include_stop_str_in_output);
      if (request_.echo) c->text = prompts_[p].text;
      choices_.push_back(std::move(c));
    }
  }
  remaining_ = choices_.size();
  if (request_.stream) {
    for (auto& c : choices_) {
      if (request_.kind == ApiKind::Chat) {
        emit_chunk(*c, {}, {}, false);
      } else if (request_.echo) {
        std::string echo = std::move(c->text);
        c->text.clear();
        emit_chunk(*c, std::move(echo), {}, false);
      }
    }
  }
  for (auto& c : choices_) {
    GenerationRequest req;
    req.request_id = header_.id + "-" + std::to_string(c->index);
    req.prompt = prompts_[c->prompt].ids;
    req.sampling = request_.sampling;
    req.sampling.seed = request_.seed ? base_seed + static_cast<uint64_t>(c->index % request_.n) : random_seed();
    req.max_tokens = *request_.max_tokens;
    req.stop_token_ids = request_.stop_token_ids;
    req.arrival = Clock::time_point(std::chrono::nanoseconds(c->arrival_ns));
    std::weak_ptr<Waker> weak = waker_;
    c->stream->set_notifier([weak] {
      if (auto w = weak.lock()) w->notify(w);
    });
    ctx_.engine.submit(std::move(req), c->stream);
  }
}

CompletionJob::~CompletionJob() {
  for (auto& c : choices_) {
    if (!c->done) finish_choice(*c, FinishReason::Cancelled, "abort");
  }
}

void CompletionJob::abandon() {
  if (finished()) return;
  ctx_.metrics.record_disconnect();
  for (auto& c : choices_) {
    if (!c->done) finish_choice(*c, FinishReason::Cancelled, "abort");
  }
}

std::string CompletionJob::token_text(int32_t id) const {
  if (request_.return_tokens_as_token_ids) return "token_id:" + std::to_string(id);
  return ctx_.tokenizer.token_to_piece(id);
}

LogprobEntry CompletionJob::to_logprob_entry(const TokenOutput& t) const {
  LogprobEntry e;
  e.token = token_text(t.token);
  e.logprob = t.logprob;
  const size_t top = std::min<size_t>(t.top_logprobs.size(), static_cast<size_t>(std::max(0, request_.logprobs)));
  for (size_t i = 0; i < top; ++i) e.top.emplace_back(token_text(t.top_logprobs[i].token), t.top_logprobs[i].logprob);
  return e;
}

void CompletionJob::poll() {
  for (auto& cp : choices_) {
    Choice& c = *cp;
    if (c.done) continue;
    scratch_.clear();
    c.stream->drain(scratch_);
    advance(c, scratch_);
  }
  if (request_.stream && finished() && !error_sent_) {
    // After an error event only [DONE] follows (as in vLLM).
    const bool failed = std::any_of(choices_.begin(), choices_.end(), [](const auto& c) { return c->failure.has_value(); });
    if (request_.include_usage && !failed) {
      sse_ += sse_event(usage_chunk_json(header_, request_.kind == ApiKind::Chat, usage()));
    }
    sse_ += kSseDone;
    error_sent_ = true;  // nothing more may follow [DONE]
  }
}

void CompletionJob::advance(Choice& c, std::vector<TokenOutput>& tokens) {
  std::string text;
  std::vector<LogprobEntry> lps;
  const bool want_lps = request_.logprobs >= 0;
  if (!tokens.empty()) {
    const int64_t now = RequestStream::now_ns();
    const int64_t since = c.last_token_ns ? c.last_token_ns : now;
    if (!c.first_token_ns) c.first_token_ns = now;
    for (size_t i = 0; i < tokens.size() && c.last_token_ns; ++i) {
      ctx_.metrics.record_inter_token(static_cast<double>(now - since) / 1e9 / static_cast<double>(tokens.size()));
    }
    c.last_token_ns = now;
  }
  for (const auto& t : tokens) {
    ++c.tokens;
    if (want_lps) lps.push_back(to_logprob_entry(t));
    text += c.stop->push(c.detok->push(t.token));
    if (c.stop->matched()) {
      c.stream->cancel();
      c.stop_reason = c.stop->matched_stop();
      emit_chunk(c, std::move(text), std::move(lps), true);
      finish_choice(c, FinishReason::Stop, "stop");
      return;
    }
  }
  if (!c.stream->done()) {
    if (!text.empty() || !lps.empty()) emit_chunk(c, std::move(text), std::move(lps), false);
    return;
  }
  const FinishReason reason = c.stream->finish_reason();
  if (reason == FinishReason::Error || reason == FinishReason::Cancelled) {
    // A cancel reaching here is the engine's (shutdown past --shutdown-timeout): a client's own
    // cancel (disconnect, stop string) has finished the choice already.
    c.failure = reason == FinishReason::Error ? engine_error(*c.stream) : shutdown_error();
    if (request_.stream && !error_sent_) sse_ += sse_event(error_json(*c.failure));
    finish_choice(c, reason, "error");
    return;
  }
  text += c.stop->push(c.detok->finish());
  if (c.stop->matched()) {
    c.stop_reason = c.stop->matched_stop();
    emit_chunk(c, std::move(text), std::move(lps), true);
    finish_choice(c, FinishReason::Stop, "stop");
    return;
  }
  text += c.stop->flush();
  const std::string name = reason == FinishReason::Cancelled ? "abort" : finish_reason_name(reason);
  c.finish_name = name;
  emit_chunk(c, std::move(text), std::move(lps), true);
  finish_choice(c, reason, name);
}

void CompletionJob::emit_chunk(Choice& c, std::string text, std::vector<LogprobEntry> lps, bool finished) {
  if (finished) c.finish_name = c.finish_name.empty() ? "stop" : c.finish_name;
  if (!request_.stream) {
    c.text += text;
    if (request_.logprobs >= 0) {
      for (auto& e : lps) c.logprobs.push_back(std::move(e));
    }
    return;
  }
  ChoiceOutput out;
  out.index = c.index;
  out.text_offset = c.text_len;
  c.text_len += static_cast<int64_t>(text.size());
  out.text = std::move(text);
  if (request_.logprobs >= 0) out.logprobs = std::move(lps);
  if (finished) {
    out.finish_reason = c.finish_name;
    out.stop_reason = c.stop_reason;
  }
  if (request_.kind == ApiKind::Chat) {
    const bool role_first = !c.role_sent;
    c.role_sent = true;
    if (!role_first && out.text.empty() && !finished && (!out.logprobs || out.logprobs->empty())) return;
    sse_ += sse_event(chat_chunk_json(header_, out, role_first));
  } else {
    sse_ += sse_event(text_chunk_json(header_, out));
  }
}

void CompletionJob::finish_choice(Choice& c, FinishReason reason, const std::string& finish_name) {
  if (c.done) return;
  c.done = true;
  c.reason = reason;
  c.finish_name = finish_name;
  if (reason == FinishReason::Cancelled) c.stream->cancel();
  --remaining_;
  ctx_.release(1);
  metrics::ServeMetrics::RequestRecord rec;
  rec.finish = reason;
  const int64_t now = RequestStream::now_ns();
  const int64_t sched = c.stream->scheduled_at_ns();
  rec.queue_s = sched > 0 ? static_cast<double>(sched - c.arrival_ns) / 1e9 : -1;
  rec.ttft_s = c.first_token_ns ? static_cast<double>(c.first_token_ns - c.arrival_ns) / 1e9 : -1;
  rec.e2e_s = static_cast<double>(now - c.arrival_ns) / 1e9;
  rec.prompt_tokens = static_cast<int64_t>(prompts_[c.prompt].ids.size());
  rec.generation_tokens = c.tokens;
  rec.cached_tokens = c.stream->num_cached_tokens();
  ctx_.metrics.record_request(rec);
}

std::string CompletionJob::take_sse() {
  std::string out;
  out.swap(sse_);
  return out;
}

Usage CompletionJob::usage() const {
  Usage u;
  for (const auto& p : prompts_) u.prompt_tokens += static_cast<int64_t>(p.ids.size());
  std::vector<int64_t> cached(prompts_.size(), 0);
  for (const auto& c : choices_) {
    u.completion_tokens += c->tokens;
    cached[c->prompt] = std::max<int64_t>(cached[c->prompt], c->stream->num_cached_tokens());
  }
  for (int64_t v : cached) u.cached_tokens += v;
  return u;
}

std::pair<int, std::string> CompletionJob::final_response() const {
  for (const auto& c : choices_) {
    if (c->failure) return {c->failure->status, error_json(*c->failure)};
  }
  std::vector<ChoiceOutput> outs;
  outs.reserve(choices_.size());
  for (const auto& c : choices_) {
    ChoiceOutput o;
    o.index = c->index;
    o.text = c->text;
    if (request_.logprobs >= 0) o.logprobs = c->logprobs;
    if (request_.echo) o.text_offset = static_cast<int64_t>(prompts_[c->prompt].text.size());
    o.finish_reason = c->finish_name;
    o.stop_reason = c->stop_reason;
    outs.push_back(std::move(o));
  }
  const Usage u = usage();
  return {200, request_.kind == ApiKind::Chat ? chat_completion_json(header_, outs, u)
                                              : text_completion_json(header_, outs, u)};
}

}  // namespace dynamo::server
