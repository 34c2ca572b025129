// The fixed numeric bounds of OpenAI request fields (those no flag configures). The validator in
// openai_request.cpp enforces them and the OpenAPI document (openapi.json) publishes the same
// constants through its {{placeholders}}; RequestLimits holds the configurable ones.
#pragma once
#include <cstdint>
#include <limits>

namespace dynamo::server::bounds {

// A closed interval [lo, hi], or (lo, hi] when lo_open.
struct NumberRange {
  double lo;
  double hi;
  bool lo_open = false;
};

inline constexpr NumberRange kTemperature{0.0, 2.0};
inline constexpr NumberRange kTopP{0.0, 1.0, true};
inline constexpr NumberRange kMinP{0.0, 1.0};
inline constexpr NumberRange kPresencePenalty{-2.0, 2.0};
inline constexpr NumberRange kFrequencyPenalty{-2.0, 2.0};
inline constexpr NumberRange kRepetitionPenalty{0.0, 2.0, true};
inline constexpr NumberRange kLogitBias{-100.0, 100.0};

inline constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
inline constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

inline constexpr int64_t kMinMaxTokens = 1;  // max_tokens / max_completion_tokens; the context caps it above
inline constexpr int64_t kTopKMin = -1;      // -1 (or 0): no top-k filter
inline constexpr int64_t kMinTokensMin = 0;  // min_tokens; must not exceed max_tokens

}  // namespace dynamo::server::bounds
