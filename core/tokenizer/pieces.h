// The text pieces a pre-tokenizer produces: spans into one arena string, so splitting copies nothing.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dynamo {

struct Pieces {
  struct Span {
    uint32_t begin;
    uint32_t end;
    bool at_start;  // starts at offset 0 of the original input (Metaspace's "first" scheme)
  };
  std::string arena;
  std::vector<Span> spans;

  std::string_view view(const Span& s) const {
    return std::string_view(arena).substr(s.begin, s.end - s.begin);
  }
  // Stores text at the end of the arena and returns a span over it.
  Span add(std::string_view text, bool at_start) {
    const auto b = static_cast<uint32_t>(arena.size());
    arena.append(text);
    return Span{b, static_cast<uint32_t>(arena.size()), at_start};
  }
};

// How a split pattern's matches are kept (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Segment {
  uint32_t begin;
  uint32_t end;
  bool is_match;
};

// Applies behavior to segments that cover a piece in order; returns the kept [begin, end) ranges.
void apply_split_behavior(std::vector<Segment>& segments, SplitBehavior behavior);

}  // namespace dynamo
