// RequestStream: the lock-free token channel from an engine thread to the HTTP event loop.
#include "core/engine/request.h"

namespace dynamo {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::None: return "none";
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Error: return "error";
  }
  return "none";
}

void RequestStream::push(TokenOutput token) {
  queue_.enqueue(std::move(token));
  pushed_.fetch_add(1, std::memory_order_release);
  if (notify_) notify_();
}

void RequestStream::finish(FinishReason reason, std::string error, ErrorKind kind) {
  if (finished_.exchange(true, std::memory_order_acq_rel)) return;  // first finish wins
  if (!error.empty() || reason == FinishReason::Error) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    error_ = std::move(error);
    error_kind_ = kind;
  }
  finish_reason_.store(reason, std::memory_order_release);
  if (notify_) notify_();
}

size_t RequestStream::drain(std::vector<TokenOutput>& out) {
  size_t n = 0;
  TokenOutput t;
  while (queue_.try_dequeue(t)) {
    out.push_back(std::move(t));
    ++n;
  }
  drained_.fetch_add(static_cast<int64_t>(n), std::memory_order_release);
  return n;
}

bool RequestStream::done() const {
  return finish_reason_.load(std::memory_order_acquire) != FinishReason::None &&
         drained_.load(std::memory_order_acquire) == pushed_.load(std::memory_order_acquire);
}

std::string RequestStream::error() const {
  std::lock_guard<std::mutex> lock(error_mutex_);
  return error_;
}

ErrorKind RequestStream::error_kind() const {
  std::lock_guard<std::mutex> lock(error_mutex_);
  return error_kind_;
}

}  // namespace dynamo
