// Pre-tokenizers: each splits every current piece into smaller ones, as Hugging Face's do.
#include "core/tokenizer/pre_tokenizers.h"

#include <functional>

#include "core/tokenizer/normalizers.h"
#include "core/tokenizer/regex.h"
#include "core/tokenizer/utf8.h"

namespace dynamo {

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

void apply_split_behavior(std::vector<Segment>& segs, SplitBehavior behavior) {
  std::vector<Segment> out;
  out.reserve(segs.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (auto& s : segs) out.push_back({s.begin, s.end, false});
      break;
    case SplitBehavior::kRemoved:
      for (auto& s : segs)
        if (!s.is_match) out.push_back(s);
      break;
    case SplitBehavior::kContiguous: {
      bool prev = false;
      for (auto& s : segs) {
        if (s.is_match == prev && !out.empty()) out.back().end = s.end;
        else out.push_back({s.begin, s.end, false});
        prev = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool prev = false;
      for (auto& s : segs) {
        if (s.is_match && !prev && !out.empty()) out.back().end = s.end;
        else out.push_back({s.begin, s.end, false});
        prev = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool prev = false;
      for (size_t k = segs.size(); k-- > 0;) {
        const auto& s = segs[k];
        if (s.is_match && !prev && !out.empty()) out.back().begin = s.begin;
        else out.push_back({s.begin, s.end, false});
        prev = s.is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  segs.swap(out);
}

namespace {

using MatchFn = std::function<void(std::string_view, std::vector<std::pair<size_t, size_t>>&)>;

// Splits every piece by the matches `find` reports, keeping them per behavior.
void split_pieces(Pieces& pieces, const MatchFn& find, SplitBehavior behavior, bool invert) {
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  thread_local std::vector<Segment> segs;
  std::vector<Pieces::Span> out;
  out.reserve(pieces.spans.size() * 2);
  for (const auto& span : pieces.spans) {
    const std::string_view text = pieces.view(span);
    matches.clear();
    find(text, matches);
    segs.clear();
    uint32_t prev = 0;
    for (auto [b, e] : matches) {
      if (b > prev) segs.push_back({prev, static_cast<uint32_t>(b), invert});
      segs.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e), !invert});
      prev = static_cast<uint32_t>(e);
    }
    if (prev < text.size()) segs.push_back({prev, static_cast<uint32_t>(text.size()), invert});
    apply_split_behavior(segs, behavior);
    for (const auto& s : segs) {
      if (s.end <= s.begin) continue;
      out.push_back({span.begin + s.begin, span.begin + s.end, span.at_start && s.begin == 0});
    }
  }
  pieces.spans.swap(out);
}

void find_literal(std::string_view text, std::string_view needle,
                  std::vector<std::pair<size_t, size_t>>& out) {
  if (needle.empty()) return;
  size_t pos = text.find(needle);
  while (pos != std::string_view::npos) {
    out.emplace_back(pos, pos + needle.size());
    pos = text.find(needle, pos + needle.size());
  }
}

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern);
  }
  void pre_tokenize(Pieces& pieces) const override {
    if (add_prefix_space_) {
      for (auto& span : pieces.spans) {
        const std::string_view text = pieces.view(span);
        if (!text.empty() && text.front() != ' ') {
          std::string t = " ";
          t.append(text);
          span = pieces.add(t, span.at_start);
        }
      }
    }
    if (regex_) {
      split_pieces(
          pieces, [&](std::string_view t, auto& m) { regex_->find_all(t, m); },
          SplitBehavior::kIsolated, false);
    }
  }
  bool is_byte_level() const override { return true; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(const std::string& pattern, bool is_regex, SplitBehavior behavior, bool invert)
      : literal_(pattern), behavior_(behavior), invert_(invert) {
    if (is_regex) regex_ = std::make_unique<Regex>(pattern);
  }
  void pre_tokenize(Pieces& pieces) const override {
    if (regex_) {
      split_pieces(
          pieces, [&](std::string_view t, auto& m) { regex_->find_all(t, m); }, behavior_, invert_);
    } else {
      split_pieces(
          pieces, [&](std::string_view t, auto& m) { find_literal(t, literal_, m); }, behavior_,
          invert_);
    }
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(Pieces& pieces) const override {
    for (auto& span : pieces.spans) {
      std::string text(pieces.view(span));
      replace_all(text, " ", replacement_);
      const bool prepend = scheme_ == PrependScheme::kAlways ||
                           (scheme_ == PrependScheme::kFirst && span.at_start);
      if (prepend && text.compare(0, replacement_.size(), replacement_) != 0)
        text.insert(0, replacement_);
      span = pieces.add(text, span.at_start);
    }
    if (split_) {
      split_pieces(
          pieces, [&](std::string_view t, auto& m) { find_literal(t, replacement_, m); },
          SplitBehavior::kMergedWithNext, false);
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(
        pieces,
        [](std::string_view t, std::vector<std::pair<size_t, size_t>>& m) {
          size_t i = 0;
          while (i < t.size()) {
            const size_t b = i;
            if (utf8::is_numeric(utf8::next(t, i))) m.emplace_back(b, i);
          }
        },
        individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
  }

 private:
  bool individual_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void pre_tokenize(Pieces& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }
  bool is_byte_level() const override {
    for (const auto& p : parts_)
      if (p->is_byte_level()) return true;
    return false;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, use_regex);
}
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(const std::string& pattern, bool is_regex,
                                                       SplitBehavior behavior, bool invert) {
  return std::make_unique<SplitPreTokenizer>(pattern, is_regex, behavior, invert);
}
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement,
                                                           PrependScheme scheme, bool split) {
  return std::make_unique<MetaspacePreTokenizer>(std::move(replacement), scheme, split);
}
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits) {
  return std::make_unique<DigitsPreTokenizer>(individual_digits);
}
std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(
    std::vector<std::unique_ptr<PreTokenizer>> parts) {
  return std::make_unique<SequencePreTokenizer>(std::move(parts));
}

}  // namespace dynamo
